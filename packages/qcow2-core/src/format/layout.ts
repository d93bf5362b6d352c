/**
 * Declarative on-disk layouts: each structure lists its fields once, with
 * offset and width, and every decoder reads through {@link decodeLayout}.
 * All QCOW numbers are big-endian (qcow2.txt "General").
 */
export type FieldType = "u8" | "u16" | "u32" | "u64";

export interface FieldSpec {
  readonly offset: number;
  readonly type: FieldType;
}

export type Layout = Readonly<Record<string, FieldSpec>>;

/** 64-bit fields decode to `bigint` (exact); narrower ones to `number`. */
export type Decoded<L extends Layout> = {
  -readonly [K in keyof L]: L[K]["type"] extends "u64" ? bigint : number;
};

const WIDTH: Record<FieldType, number> = { u8: 1, u16: 2, u32: 4, u64: 8 };

/** The number of bytes a layout spans (end of its last field). */
export function layoutSize(layout: Layout): number {
  let end = 0;
  for (const f of Object.values(layout)) end = Math.max(end, f.offset + WIDTH[f.type]);
  return end;
}

/**
 * Decodes `layout` from `bytes` at `base`. The caller guarantees the span is
 * inside `bytes` (checked here too: a short buffer is a programming error
 * surfaced as a RangeError only if a caller skipped its bounds check).
 */
export function decodeLayout<L extends Layout>(
  bytes: Uint8Array,
  base: number,
  layout: L,
): Decoded<L> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Record<string, number | bigint> = {};
  for (const [name, f] of fieldsOf(layout)) {
    const at = base + f.offset;
    switch (f.type) {
      case "u8":
        out[name] = view.getUint8(at);
        break;
      case "u16":
        out[name] = view.getUint16(at);
        break;
      case "u32":
        out[name] = view.getUint32(at);
        break;
      case "u64":
        out[name] = view.getBigUint64(at);
        break;
    }
  }
  return out as Decoded<L>;
}

/** Each layout's fields listed once: thousands of snapshot entries decode through one layout. */
const FIELDS = new WeakMap<Layout, ReadonlyArray<readonly [string, FieldSpec]>>();

function fieldsOf(layout: Layout): ReadonlyArray<readonly [string, FieldSpec]> {
  let fields = FIELDS.get(layout);
  if (fields === undefined) {
    fields = Object.entries(layout);
    FIELDS.set(layout, fields);
  }
  return fields;
}

/** Big-endian unsigned 64-bit read (exact). */
export function readU64(bytes: Uint8Array, at: number): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(at);
}

/** Big-endian unsigned 32-bit read. */
export function readU32(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(at);
}
