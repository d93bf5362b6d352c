/**
 * Seeded mutations of real images: bit flips, header fields and table
 * entries poked with boundary values, truncation, extension. The same seed
 * always yields the same mutant, so any failure replays exactly.
 */

/** xorshift32: tiny, fast, deterministic. */
export function rng(seed: number): (n: number) => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return (n: number) => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) % Math.max(1, n);
  };
}

/** Header fields of a v2/v3 header (offset, width), qcow2.txt "Header". */
const HEADER_FIELDS: Array<[number, 1 | 2 | 4 | 8]> = [
  [4, 4],
  [8, 8],
  [16, 4],
  [20, 4],
  [24, 8],
  [32, 4],
  [36, 4],
  [40, 8],
  [48, 8],
  [56, 4],
  [60, 4],
  [64, 8],
  [72, 8],
  [80, 8],
  [88, 8],
  [96, 4],
  [100, 4],
  [104, 1],
];

const BOUNDARY: readonly bigint[] = [
  0n,
  1n,
  2n,
  7n,
  8n,
  9n,
  16n,
  21n,
  22n,
  63n,
  64n,
  104n,
  112n,
  511n,
  512n,
  4096n,
  65535n,
  65536n,
  0x7fffffffn,
  0x80000000n,
  0xffffffffn,
  1n << 32n,
  1n << 53n,
  (1n << 53n) + 512n,
  1n << 62n,
  1n << 63n,
  (1n << 63n) - 1n,
  0xffffffffffffffffn,
];

export type MutationKind =
  | "bitflip"
  | "header-field"
  | "table-entry"
  | "truncate"
  | "extend"
  | "splice";

export interface Mutant {
  bytes: Uint8Array;
  kind: MutationKind;
  detail: string;
}

function setField(view: DataView, offset: number, width: 1 | 2 | 4 | 8, value: bigint): void {
  if (offset + width > view.byteLength) return;
  if (width === 1) view.setUint8(offset, Number(value & 0xffn));
  else if (width === 2) view.setUint16(offset, Number(value & 0xffffn));
  else if (width === 4) view.setUint32(offset, Number(value & 0xffffffffn));
  else view.setBigUint64(offset, value & 0xffffffffffffffffn);
}

/** One mutant of `original` for `seed`. */
export function mutate(original: Uint8Array, seed: number): Mutant {
  const next = rng(seed);
  const kinds: MutationKind[] = [
    "bitflip",
    "header-field",
    "table-entry",
    "truncate",
    "extend",
    "splice",
  ];
  const kind = kinds[next(kinds.length)] as MutationKind;
  const value = () => {
    const v = BOUNDARY[next(BOUNDARY.length)] as bigint;
    // Sometimes a plausible offset inside the file, cluster-aligned or not.
    return next(3) === 0 ? BigInt(next(original.length)) & ~(next(2) ? 0x1ffn : 0n) : v;
  };
  if (kind === "truncate") {
    const at = next(original.length);
    return { bytes: original.slice(0, at), kind, detail: `truncate at ${at}` };
  }
  if (kind === "extend") {
    const extra = 1 + next(70_000);
    const out = new Uint8Array(original.length + extra);
    out.set(original);
    for (let i = original.length; i < out.length; i += 1 + next(64)) out[i] = next(256);
    return { bytes: out, kind, detail: `extend by ${extra}` };
  }
  const bytes = original.slice();
  const view = new DataView(bytes.buffer);
  if (kind === "bitflip") {
    const n = 1 + next(16);
    // Most structure lives near the start of small images; flip there more often.
    for (let i = 0; i < n; i++) {
      const at = next(2) ? next(Math.min(bytes.length, 8192)) : next(bytes.length);
      bytes[at] = (bytes[at] ?? 0) ^ (1 << next(8));
    }
    return { bytes, kind, detail: `${n} bit flips` };
  }
  if (kind === "header-field") {
    const [offset, width] = HEADER_FIELDS[next(HEADER_FIELDS.length)] as [number, 1 | 2 | 4 | 8];
    const v = value();
    setField(view, offset, width, v);
    return { bytes, kind, detail: `header ${offset}/${width} = ${v}` };
  }
  if (kind === "table-entry") {
    const n = 1 + next(4);
    for (let i = 0; i < n; i++) {
      const at = (next(Math.max(1, bytes.length - 8)) >> 3) << 3;
      setField(view, at, 8, value());
    }
    return { bytes, kind, detail: `${n} table entries` };
  }
  // splice: copy one cluster-sized window over another (metadata overlapping data).
  const len = 1 << (9 + next(8));
  const from = next(Math.max(1, bytes.length - len));
  const to = next(Math.max(1, bytes.length - len));
  bytes.copyWithin(to, from, Math.min(bytes.length, from + len));
  return { bytes, kind, detail: `splice ${len} bytes ${from}→${to}` };
}
