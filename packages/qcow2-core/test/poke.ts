import { readFileSync } from "node:fs";
import { type FixtureSet, loadFixtureSet } from "../../../fixtures/harness/index.js";

/** The bytes of a committed fixture, as a fresh copy to poke. */
export function fixtureBytes(name: string, set: FixtureSet = loadFixtureSet()): Uint8Array {
  const entry = set.entries.find((e) => e.name === name);
  if (!entry) throw new Error(`no fixture ${name}`);
  return new Uint8Array(readFileSync(set.path(entry)));
}

/** Writes a big-endian unsigned field of `width` bytes at `offset`. */
export function poke(
  bytes: Uint8Array,
  offset: number,
  width: 1 | 2 | 4 | 8,
  value: number | bigint,
): Uint8Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (width === 1) view.setUint8(offset, Number(value));
  else if (width === 2) view.setUint16(offset, Number(value));
  else if (width === 4) view.setUint32(offset, Number(value));
  else view.setBigUint64(offset, BigInt(value));
  return bytes;
}
