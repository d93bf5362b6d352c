import { execFileSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";

const dir = mkdtempSync(join(tmpdir(), "qcow2-race-"));
const fifo = join(dir, "swapped.fifo");
const regular = join(dir, "regular.qcow2");

// The race: the path is a regular file when it is typed, a FIFO when it is opened.
vi.mock("node:fs/promises", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs/promises")>();
  return {
    ...real,
    stat: (path: string, options?: unknown) =>
      real.stat(path === fifo ? regular : path, options as never),
  };
});

describe("a FIFO swapped in after the type check", () => {
  it("is opened without waiting for a writer and refused from the open handle", async () => {
    execFileSync("mkfifo", [fifo]);
    writeFileSync(regular, Buffer.alloc(512));
    const { openFileSource } = await import("../src/node.js");
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      openFileSource(fifo).then(
        () => "opened",
        (e: unknown) => e,
      ),
      new Promise((resolve) => {
        timer = setTimeout(() => resolve("still waiting after 1 s"), 1000);
      }),
    ]);
    clearTimeout(timer);
    expect(outcome).toMatchObject({ code: "SPECIAL_FILE", file: fifo });
  });
});
