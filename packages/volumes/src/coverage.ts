/**
 * Where a layout accounts for the disk: the partitions and the table's own
 * sectors. What lies outside is unaccounted space (alignment gaps, space
 * after the last partition) — where hidden data would sit.
 */
import type { VolumeLayout } from "./layout.js";

/** A guest byte range [start, start + length) with what it is. */
export interface AccountedRange {
  start: number;
  length: number;
  what: string;
}

/**
 * The ranges the layout accounts for: every partition (an extended one
 * whole), sector 0, each EBR, and each GPT header with its entry array.
 * With no table, the whole-disk filesystem (if any) accounts for the disk.
 */
export function accountedRanges(layout: VolumeLayout): AccountedRange[] {
  const out: AccountedRange[] = [];
  const ss = layout.sectorSize;
  if (layout.scheme === "none") {
    if (layout.filesystem !== null)
      out.push({ start: 0, length: layout.size, what: "whole-disk filesystem" });
    return out;
  }
  out.push({ start: 0, length: ss, what: "MBR" });
  for (const ebr of layout.mbr?.ebrOffsets ?? []) out.push({ start: ebr, length: ss, what: "EBR" });
  for (const h of layout.gpt === null ? [] : [layout.gpt.primary, layout.gpt.backup]) {
    if (h.myLba === undefined) continue;
    const lba = Number(h.myLba);
    if (Number.isSafeInteger(lba * ss))
      out.push({ start: lba * ss, length: ss, what: "GPT header" });
    const arrayLba = Number(h.partitionEntryLba);
    const bytes = (h.numberOfPartitionEntries ?? 0) * (h.sizeOfPartitionEntry ?? 0);
    if (Number.isSafeInteger(arrayLba * ss) && bytes > 0)
      out.push({ start: arrayLba * ss, length: bytes, what: "GPT partition entry array" });
  }
  for (const p of layout.partitions)
    if (p.length > 0) out.push({ start: p.start, length: p.length, what: `partition ${p.number}` });
  return out.sort((a, b) => a.start - b.start);
}

/**
 * The parts of `extents` (e.g. the allocated extents of a QCOW2 map) that
 * no accounted range covers, merged and in order.
 */
export function unaccounted(
  layout: VolumeLayout,
  extents: Iterable<{ start: number; length: number }>,
): Array<{ start: number; length: number }> {
  const accounted = accountedRanges(layout);
  const out: Array<{ start: number; length: number }> = [];
  const push = (start: number, end: number) => {
    const last = out[out.length - 1];
    if (last !== undefined && last.start + last.length === start) last.length += end - start;
    else out.push({ start, length: end - start });
  };
  for (const e of extents) {
    let cursor = e.start;
    const end = e.start + e.length;
    for (const r of accounted) {
      if (r.start + r.length <= cursor) continue;
      if (r.start >= end) break;
      if (r.start > cursor) push(cursor, Math.min(r.start, end));
      cursor = Math.max(cursor, r.start + r.length);
      if (cursor >= end) break;
    }
    if (cursor < end) push(cursor, end);
  }
  return out;
}
