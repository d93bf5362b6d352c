import { execFileSync } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  fileDisk,
  MiB,
  removeDir,
  run,
  sparseFile,
  tempDir,
  toolsOrSkipReason,
} from "../../../fixtures/harness/guest.js";
import { readVolumes } from "../src/index.js";

// ext times, state, mount point, features and counters against dumpe2fs -h. The values
// mkfs does not set (a mount time and place, an error state) are set with debugfs.
const skip = toolsOrSkipReason(["mkfs.ext4", "mkfs.ext2", "dumpe2fs", "debugfs"]);

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `dumpe2fs -h` as field → value, times printed in UTC. */
function dumpe2fs(path: string): Record<string, string> {
  const out = execFileSync("dumpe2fs", ["-h", path], {
    encoding: "utf8",
    env: { ...process.env, TZ: "UTC" },
    stdio: ["ignore", "pipe", "ignore"],
  });
  const fields: Record<string, string> = {};
  for (const line of out.split("\n")) {
    const m = /^([^:]+):\s+(.*)$/.exec(line);
    if (m) fields[(m[1] as string).trim()] = (m[2] as string).trim();
  }
  return fields;
}

/** ctime's "Wed Dec  2 10:28:58 2026" (UTC) as Unix seconds; "n/a" as undefined. */
function ctime(s: string | undefined): number | undefined {
  if (s === undefined || s === "n/a") return undefined;
  const m = /^\w{3} (\w{3}) +(\d+) (\d+):(\d+):(\d+) (\d+)$/.exec(s);
  if (!m) throw new Error(`unexpected dumpe2fs time ${s}`);
  const [, mon, day, h, min, sec, year] = m;
  return (
    Date.UTC(
      Number(year),
      MONTHS.indexOf(mon as string),
      Number(day),
      Number(h),
      Number(min),
      Number(sec),
    ) / 1000
  );
}

async function extOf(path: string) {
  const disk = fileDisk(path);
  try {
    return (await readVolumes(disk)).filesystem;
  } finally {
    disk.close();
  }
}

describe.skipIf(skip !== undefined)("ext superblock facts against dumpe2fs", () => {
  let dir = "";
  beforeAll(() => {
    dir = tempDir("ext");
  });
  afterAll(() => removeDir(dir));

  const cases: Array<[string, string[], string[]]> = [
    ["a freshly made ext4", ["mkfs.ext4", "-q", "-F", "-L", "ètiquette"], []],
    [
      "an ext4 last mounted at /srv/data, left with errors",
      ["mkfs.ext4", "-q", "-F"],
      [
        "ssv mtime 20240315123456",
        "ssv last_mounted /srv/data",
        "ssv state 2",
        "ssv error_count 3",
      ],
    ],
    [
      "a mounted ext2 (valid bit cleared)",
      ["mkfs.ext2", "-q", "-F"],
      ["ssv mtime 20230102030405", "ssv state 0"],
    ],
  ];

  it.each(cases)("%s", async (_name, mkfs, edits) => {
    const f = sparseFile(`${dir}/${mkfs[0]}-${edits.length}.raw`, 32 * MiB);
    run(mkfs[0] as string, [...mkfs.slice(1), f]);
    for (const edit of edits) run("debugfs", ["-w", "-R", edit, f]);
    const want = dumpe2fs(f);
    const fs = await extOf(f);
    const d = fs?.details;
    expect(fs?.uuid).toBe(want["Filesystem UUID"]);
    expect(fs?.label ?? "<none>").toBe(want["Filesystem volume name"]);
    expect(d?.lastMountedOn ?? "<not available>").toBe(want["Last mounted on"]);
    expect(d?.state).toBe(want["Filesystem state"]);
    expect(d?.created).toBe(ctime(want["Filesystem created"]));
    expect(d?.lastMounted).toBe(ctime(want["Last mount time"]));
    expect(d?.lastWritten).toBe(ctime(want["Last write time"]));
    expect(d?.features?.join(" ")).toBe(want["Filesystem features"]);
    const errors = Number(want["FS Error count"] ?? 0);
    expect(d?.unclean?.some((u) => u.includes(`${errors} error(s)`)) ?? false).toBe(errors > 0);
    expect((d?.unclean ?? []).length > 0).toBe(want["Filesystem state"] !== "clean" || errors > 0);
  });
});
