const utf8 = new TextDecoder("utf-8", { fatal: false });

/**
 * Decodes an on-disk string: at most `max` bytes, cut at the first NUL, lossy
 * UTF-8 (invalid sequences become U+FFFD) — names in evidence are untrusted.
 */
export function decodeString(bytes: Uint8Array, max: number): string {
  let view = bytes.subarray(0, Math.min(bytes.length, max));
  const nul = view.indexOf(0);
  if (nul >= 0) view = view.subarray(0, nul);
  return utf8.decode(view);
}

/** True when the bytes are not valid UTF-8 (the decoded name is lossy). */
export function isLossyUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return false;
  } catch {
    return true;
  }
}
