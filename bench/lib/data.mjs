// Deterministic data (seeded xorshift128), so the generated images are the same on every machine.
// Writers fill raw files that qemu-img then converts into the bench images.
import fs from "node:fs";
import { MiB } from "./units.mjs";

export function rng(seed) {
  let a = seed >>> 0 || 1;
  let b = 0x9e3779b9;
  let c = 0x85ebca6b;
  let d = 0xc2b2ae35;
  return () => {
    const t = a ^ (a << 11);
    a = b;
    b = c;
    c = d;
    d = (d ^ (d >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return d;
  };
}

export function fillRandom(buf, r) {
  const words = new Uint32Array(buf.buffer, buf.byteOffset, buf.length >>> 2);
  for (let i = 0; i < words.length; i++) words[i] = r();
}

// ~16 MiB of log-like text and word salad: compresses about 3x per 64 KiB cluster.
export function textPool(r, size = 16 * MiB) {
  const syl = "ka ri to mo ne su la vi po de gra shi un ex ter qua bo fi zen lo".split(" ");
  const words = [];
  for (let i = 0; i < 800; i++) {
    let w = "";
    const n = 1 + (r() % 4);
    for (let j = 0; j < n; j++) w += syl[r() % syl.length];
    words.push(w);
  }
  const procs = ["sshd", "cron", "kernel", "nginx", "postgres", "systemd", "dockerd"];
  const parts = [];
  let len = 0;
  while (len < size) {
    let line;
    if (r() % 3 === 0) {
      const n = 5 + (r() % 15);
      const ws = [];
      for (let j = 0; j < n; j++) ws.push(words[Math.min(r() % 800, r() % 800)]);
      line = `${ws.join(" ")}.\n`;
    } else {
      const t = new Date((1_700_000_000 + (r() % 40_000_000)) * 1000).toISOString();
      line =
        `${t} host-${r() % 50} ${procs[r() % 7]}[${r() % 65536}]: ${words[r() % 100]} ` +
        `${words[r() % 800]} id=${(r() & 0xfff).toString(16)} from 10.0.${r() % 8}.${r() % 64} ` +
        `port ${1024 + (r() % 512)}\n`;
    }
    parts.push(line);
    len += line.length;
  }
  return Buffer.from(parts.join(""), "latin1");
}

// 1 MiB chunks: 65% text slices, 4% random, 11% zeros, 20% structured binary (tables of
// counters and constants). About 3x smaller once qemu-img compresses it cluster by cluster.
export function writeCompressibleRaw(file, size, seed) {
  const r = rng(seed);
  const pool = textPool(r);
  const CH = MiB;
  const buf = Buffer.alloc(CH);
  const u32 = new Uint32Array(buf.buffer, buf.byteOffset, CH / 4);
  const fd = fs.openSync(file, "w");
  try {
    for (let done = 0; done < size; done += CH) {
      const k = r() % 100;
      if (k < 65) {
        const o = r() % (pool.length - CH);
        pool.copy(buf, 0, o, o + CH);
      } else if (k < 69) {
        fillRandom(buf, r);
      } else if (k < 80) {
        buf.fill(0);
      } else {
        let base = r();
        for (let j = 0; j < u32.length; j += 4) {
          base = (base + 8) >>> 0;
          u32[j] = base;
          u32[j + 1] = r() & 3;
          u32[j + 2] = 0x7f454c46;
          u32[j + 3] = j;
        }
      }
      fs.writeSync(fd, buf, 0, CH, done);
    }
  } finally {
    fs.closeSync(fd);
  }
}

// 8 GiB sparse raw: in each 8 MiB slot one extent of 4 KiB..1.6 MiB at a random 512-byte
// aligned offset (random or text data): about 10% of the disk, in ~1000 scattered extents.
export function writeSparseRaw(file, size, seed) {
  const r = rng(seed);
  const pool = textPool(r, 4 * MiB);
  const SLOT = 8 * MiB;
  const MAX = Math.floor((1.6 * MiB) / 4096);
  const buf = Buffer.alloc(MAX * 4096 + 4096);
  const fd = fs.openSync(file, "w");
  let written = 0;
  try {
    fs.ftruncateSync(fd, size);
    for (let slot = 0; slot < size; slot += SLOT) {
      const len = (1 + (r() % MAX)) * 4096;
      const off = slot + (r() % ((SLOT - len) / 512)) * 512;
      if (r() & 1) fillRandom(buf.subarray(0, len), r);
      else {
        const o = r() % (pool.length - len);
        pool.copy(buf, 0, o, o + len);
      }
      fs.writeSync(fd, buf, 0, len, off);
      written += len;
    }
  } finally {
    fs.closeSync(fd);
  }
  return written;
}

// 16 GiB sparse raw with one 4 KiB block every 64 KiB: 262144 allocated 4 KiB clusters and
// all 8192 L2 tables once converted with cluster_size=4096 (4194304 clusters in all).
export function writeMetaRaw(file, size, stride) {
  const buf = Buffer.alloc(4096, 0xa5);
  const fd = fs.openSync(file, "w");
  let n = 0;
  try {
    fs.ftruncateSync(fd, size);
    for (let off = 0; off < size; off += stride) {
      buf.writeUInt32LE(n++, 0);
      buf.writeDoubleLE(off, 8);
      fs.writeSync(fd, buf, 0, 4096, off);
    }
  } finally {
    fs.closeSync(fd);
  }
  return n;
}
