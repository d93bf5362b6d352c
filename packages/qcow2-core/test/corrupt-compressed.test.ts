import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { qemuOrSkipReason } from "../../../fixtures/harness/index.js";
import { inspect, isQcow2Error, memorySource, Qcow2Image } from "../src/index.js";
import { openImage } from "../src/node.js";
import { diskSha256 } from "./disk-sha.js";
import { fixtureBytes } from "./poke.js";

// A damaged compressed cluster, read the way `export`/`hash` read (the whole disk, so the
// compressed clusters of one read decompress in parallel): the outcome must be qemu-img's. Where
// qemu-img convert fails we fail with DECOMPRESSION_FAILED, and where the damaged frame still
// decodes to a full cluster we produce the same bytes qemu-img does.

const skip = qemuOrSkipReason();
const dir = mkdtempSync(join(tmpdir(), "qcow2-corrupt-compressed-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Compressed {
  hostOffset: number;
  length: number;
}

/** Host offset and stored length of every compressed cluster, from the first L1 entry's table. */
async function compressedClusters(bytes: Uint8Array): Promise<Compressed[]> {
  const info = await inspect(memorySource(bytes));
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const l2 = Number(view.getBigUint64(info.l1TableOffset) & 0x00ff_ffff_ffff_fe00n);
  const bits = info.clusterBits;
  const offsetBits = 62 - (bits - 8);
  const out: Compressed[] = [];
  for (let i = 0; i < 2 ** (bits - 3); i++) {
    const entry = view.getBigUint64(l2 + i * 8);
    if ((entry & (1n << 62n)) === 0n) continue;
    const hostOffset = Number(entry & ((1n << BigInt(offsetBits)) - 1n));
    const sectors = Number((entry >> BigInt(offsetBits)) & ((1n << BigInt(bits - 8)) - 1n)) + 1;
    out.push({ hostOffset, length: sectors * 512 - (hostOffset % 512) });
  }
  return out;
}

/** Reads the whole disk: from memory with the portable decoders, or from the file with Node's. */
async function ours(
  bytes: Uint8Array,
  file: string | null,
): Promise<{ sha: string } | { code: string }> {
  const image = file === null ? await Qcow2Image.open(memorySource(bytes)) : await openImage(file);
  try {
    return { sha: await diskSha256(image) };
  } catch (e) {
    if (isQcow2Error(e)) return { code: e.code };
    throw e;
  } finally {
    await image.close();
  }
}

function qemu(file: string): { sha: string } | { code: string } {
  const raw = `${file}.raw`;
  const r = spawnSync("qemu-img", ["convert", "-O", "raw", file, raw], { encoding: "utf8" });
  if (r.status !== 0) return { code: "DECOMPRESSION_FAILED" };
  const sha = spawnSync("sha256sum", [raw], { encoding: "utf8" }).stdout.split(" ")[0] ?? "";
  rmSync(raw, { force: true });
  return { sha };
}

const cases: Array<{ fixture: string; where: string; at: (c: Compressed) => number }> = [
  { fixture: "compressed-zlib", where: "first byte", at: (c) => c.hostOffset },
  { fixture: "compressed-zlib", where: "middle", at: (c) => c.hostOffset + (c.length >> 1) },
  { fixture: "zstd", where: "frame header", at: (c) => c.hostOffset + 4 },
  { fixture: "zstd", where: "middle", at: (c) => c.hostOffset + (c.length >> 1) },
  { fixture: "zstd", where: "magic", at: (c) => c.hostOffset },
];

describe.skipIf(skip !== undefined)("damaged compressed clusters against qemu-img convert", () => {
  for (const { fixture, where, at } of cases) {
    it(`${fixture}: every compressed cluster with its ${where} flipped`, async () => {
      const pristine = fixtureBytes(fixture);
      const clusters = await compressedClusters(pristine);
      expect(clusters.length).toBeGreaterThan(1);
      let failures = 0;
      for (const c of clusters) {
        const bytes = pristine.slice();
        const pos = at(c);
        bytes[pos] = (bytes[pos] as number) ^ 0xff;
        const file = join(dir, `${fixture}-${pos}.qcow2`);
        writeFileSync(file, bytes);
        const expected = qemu(file);
        expect({ pos, result: await ours(bytes, null) }).toEqual({ pos, result: expected });
        expect({ pos, result: await ours(bytes, file) }).toEqual({ pos, result: expected });
        if ("code" in expected) failures++;
      }
      if (where !== "middle") expect(failures).toBe(clusters.length);
    }, 60_000);
  }
});
