/**
 * The guest fuzz corpus: small disks made by the reference tools (sfdisk,
 * mkfs.*, mkswap, cryptsetup, xorriso), read into memory once.
 */
import { readFileSync, writeFileSync } from "node:fs";
import {
  MiB,
  placeAt,
  removeDir,
  run,
  sfdisk,
  sfdiskJson,
  sparseFile,
  tempDir,
} from "../../../../fixtures/harness/guest.js";
import {
  bitLockerLike,
  buildDisk,
  GPT,
  hibernatedSwap,
} from "../../../../fixtures/harness/guest-disks.js";
import { JUNK_KINDS, junkRegion } from "./junk.js";

export interface CorpusDisk {
  name: string;
  bytes: Uint8Array;
  /** Byte offsets of the partitions. */
  starts: number[];
}

/** Tools the corpus is built with. */
export const CORPUS_TOOLS = [
  "sfdisk",
  "mkfs.vfat",
  "mkfs.ext4",
  "mkntfs",
  "mkfs.exfat",
  "mkswap",
  "cryptsetup",
];

export function guestCorpus(): CorpusDisk[] {
  const dir = tempDir("fuzz-corpus");
  try {
    const disks: Array<[string, string]> = [];
    disks.push([
      "mbr-logical",
      buildDisk(`${dir}/mbr.raw`, "dos", 32, [
        {
          size: 4,
          type: "83",
          bootable: true,
          expect: "ext4",
          fill: (f) => run("mkfs.ext4", ["-q", "-F", "-L", "r", f]),
        },
        { size: 4, type: "c", expect: "vfat", fill: (f) => run("mkfs.vfat", ["-n", "V", f]) },
        { size: 0, type: "5", expect: null },
        { size: 1, type: "82", expect: "swap", fill: (f) => run("mkswap", ["-L", "s", f]) },
        {
          size: 4,
          type: "7",
          expect: "ntfs",
          fill: (f) => run("mkntfs", ["-q", "-F", "-Q", "-L", "n", f]),
        },
        { size: 4, type: "7", expect: "exfat", fill: (f) => run("mkfs.exfat", ["-L", "x", f]) },
        { size: 2, type: "83", expect: "ext2", fill: (f) => run("mkfs.ext2", ["-q", "-F", f]) },
      ]),
    ]);
    disks.push([
      "gpt",
      buildDisk(`${dir}/gpt.raw`, "gpt", 24, [
        {
          size: 8,
          type: GPT.basicData,
          name: "fat",
          expect: "vfat",
          fill: (f) => run("mkfs.vfat", ["-n", "F", f]),
        },
        {
          size: 4,
          type: GPT.luks,
          expect: "crypto_LUKS",
          fill: (f) => {
            writeFileSync(`${f}.key`, "k");
            run("cryptsetup", [
              "luksFormat",
              "-q",
              "--type",
              "luks1",
              "--pbkdf-force-iterations",
              "1000",
              "--key-file",
              `${f}.key`,
              f,
            ]);
          },
        },
        {
          size: 4,
          type: GPT.linux,
          expect: "ext3",
          fill: (f) => run("mkfs.ext3", ["-q", "-F", f]),
        },
        { size: 1, type: GPT.swap, expect: "swsuspend", fill: hibernatedSwap("h") },
        { size: 4, type: GPT.basicData, expect: "BitLocker", fill: bitLockerLike },
      ]),
    ]);
    // A GPT disk whose partitions start like every signature (junk behind the magic).
    const junk = sparseFile(`${dir}/junk.raw`, (2 * JUNK_KINDS.length + 2) * MiB);
    sfdisk(junk, `label: gpt\n${JUNK_KINDS.map(() => `size=2M, type=${GPT.linux}`).join("\n")}\n`);
    for (const [i, kind] of JUNK_KINDS.entries()) {
      const f = `${dir}/junk-${i}`;
      writeFileSync(f, junkRegion(i + 1, kind, 2 * MiB));
      placeAt(junk, MiB + i * 2 * MiB, f);
    }
    disks.push(["junk", junk]);
    return disks.map(([name, path]) => ({
      name,
      bytes: new Uint8Array(readFileSync(path)),
      starts: (sfdiskJson(path)?.partitions ?? []).map((p) => p.start * 512),
    }));
  } finally {
    removeDir(dir);
  }
}
