// The bench's standard images, in report order: info and audit run on every one of them.
// A group that needs an image of its own declares it in its `recipes` (see bench/README.md).
import fs from "node:fs";
import path from "node:path";
import { rng, writeCompressibleRaw, writeMetaRaw, writeSparseRaw } from "./data.mjs";
import { GiB, KiB, MiB } from "./units.mjs";

// 1 GiB of mixed data, converted twice (zlib and zstd) by the recipes below.
const compressible = (kit) =>
  kit.shared("compressible.raw", (raw) => writeCompressibleRaw(raw, GiB, 42));

export const STANDARD_RECIPES = [
  {
    name: "alloc-1g",
    content: "1 GiB of /dev/urandom, every cluster allocated",
    build(out, kit) {
      const raw = path.join(kit.dir, "alloc.raw");
      kit.sh("sh", ["-c", `head -c 1G /dev/urandom > '${raw}'`]);
      kit.sh("qemu-img", ["convert", "-O", "qcow2", "-o", "cluster_size=65536", raw, out]);
      fs.rmSync(raw);
    },
  },
  {
    name: "zlib-1g",
    content: "1 GiB of mixed text/binary/zero data, `convert -c` (zlib)",
    build(out, kit) {
      const raw = compressible(kit);
      kit.sh("qemu-img", ["convert", "-c", "-O", "qcow2", "-o", "compression_type=zlib", raw, out]);
    },
  },
  {
    name: "zstd-1g",
    content: "the same data, `convert -c -o compression_type=zstd`",
    build(out, kit) {
      const raw = compressible(kit);
      kit.sh("qemu-img", ["convert", "-c", "-O", "qcow2", "-o", "compression_type=zstd", raw, out]);
    },
  },
  {
    name: "sparse-8g",
    content: "8 GiB virtual, ~10% written in ~1000 scattered extents",
    skipInQuick: true,
    build(out, kit) {
      const raw = path.join(kit.dir, "sparse.raw");
      writeSparseRaw(raw, 8 * GiB, 8);
      kit.sh("qemu-img", ["convert", "-O", "qcow2", raw, out]);
      fs.rmSync(raw);
    },
  },
  {
    name: "meta-4m",
    content: "16 GiB virtual, 4 KiB clusters, one 4 KiB block every 64 KiB (8192 L2 tables)",
    build(out, kit) {
      const raw = path.join(kit.dir, "meta.raw");
      writeMetaRaw(raw, 16 * GiB, 64 * KiB);
      kit.sh("qemu-img", ["convert", "-O", "qcow2", "-o", "cluster_size=4096", raw, out]);
      fs.rmSync(raw);
    },
  },
  {
    name: "snap-20",
    content: "256 MiB, 64 MiB of data, 20 internal snapshots with writes between",
    build(out, kit) {
      // 256 MiB disk, 64 MiB of mixed data, then 20 rounds of (writes, internal snapshot).
      const raw = path.join(kit.dir, "snap.raw");
      writeCompressibleRaw(raw, 64 * MiB, 20);
      fs.truncateSync(raw, 256 * MiB);
      kit.sh("qemu-img", ["convert", "-O", "qcow2", raw, out]);
      fs.rmSync(raw);
      const r = rng(2020);
      const writes = () => {
        const args = ["-f", "qcow2"];
        for (let k = 0; k < 6; k++) {
          const len = (1 + (r() % 32)) * 32 * KiB;
          const off = (r() % ((256 * MiB - len) / 4096)) * 4096;
          args.push("-c", `write -P 0x${(r() & 0xff).toString(16)} ${off} ${len}`);
        }
        kit.sh("qemu-io", [...args, out]);
      };
      for (let i = 1; i <= 20; i++) {
        writes();
        kit.sh("qemu-img", ["snapshot", "-c", `snap-${String(i).padStart(2, "0")}`, out]);
      }
      writes();
    },
  },
];
