/**
 * Finds where the first zstd frame in `bytes` ends (RFC 8878 §3.1.1), so a
 * compressed cluster can be handed to the decoder without the zero padding
 * QCOW2 stores after it (the descriptor counts whole 512-byte sectors).
 * Returns `null` when the bytes are not a complete zstd frame.
 */
export function zstdFrameLength(bytes: Uint8Array): number | null {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 6 || view.getUint32(0, true) !== 0xfd2fb528) return null;
  const descriptor = bytes[4] as number;
  const fcsFlag = descriptor >> 6;
  const singleSegment = (descriptor >> 5) & 1;
  const checksum = (descriptor >> 2) & 1;
  const dictIdFlag = descriptor & 3;
  const DICT_ID_BYTES = [0, 1, 2, 4] as const;
  const CONTENT_SIZE_BYTES = [1, 2, 4, 8] as const;
  let at = 5 + (singleSegment ? 0 : 1) + (DICT_ID_BYTES[dictIdFlag] ?? 0);
  at += fcsFlag === 0 ? singleSegment : (CONTENT_SIZE_BYTES[fcsFlag] ?? 0);
  // Blocks: 3-byte little-endian header (last flag, type, size).
  for (;;) {
    if (at + 3 > bytes.length) return null;
    const header =
      (bytes[at] as number) | ((bytes[at + 1] as number) << 8) | ((bytes[at + 2] as number) << 16);
    const last = header & 1;
    const type = (header >> 1) & 3;
    const size = header >>> 3;
    if (type === 3) return null; // reserved block type
    // An RLE block stores one byte however long its output.
    at += 3 + (type === 1 ? 1 : size);
    if (at > bytes.length) return null;
    if (last) break;
  }
  if (checksum) at += 4;
  return at <= bytes.length ? at : null;
}
