import { INT64_MAX } from "./numbers.js";

/**
 * QEMU's qcow2_validate_table: a table of `entries` entries of `entryLength`
 * bytes at `offset` is refused when it is larger than `maxBytes`, not
 * cluster-aligned, or ends past the signed 64-bit range. Returns QEMU's
 * message (`"<name> too large"`, `"<name> offset invalid"`), or `null` when
 * QEMU accepts the table — even one wholly past end of file, which QEMU
 * then reads as zeros.
 */
export function validateTable(
  offset: bigint,
  entries: number,
  entryLength: number,
  maxBytes: number,
  clusterSize: number,
  name: string,
): string | null {
  if (entries > Math.floor(maxBytes / entryLength)) return `${name} too large`;
  const bytes = BigInt(entries) * BigInt(entryLength);
  if (INT64_MAX - bytes < offset || offset % BigInt(clusterSize) !== 0n)
    return `${name} offset invalid`;
  return null;
}
