const utf8 = new TextDecoder("utf-8", { fatal: false });

/**
 * Decodes an on-disk string: at most `max` bytes, cut at the first NUL, lossy
 * UTF-8 (invalid sequences become U+FFFD) — names in evidence are untrusted.
 */
export function decodeString(bytes: Uint8Array, max: number): string {
  let view = bytes.subarray(0, Math.min(bytes.length, max));
  const nul = view.indexOf(0);
  if (nul >= 0) view = view.subarray(0, nul);
  // Names are short and nearly always ASCII, which decodes to one UTF-16 unit per byte: no call
  // into the decoder (thousands of snapshot names and ids).
  if (view.length <= ASCII_FAST_MAX) {
    let ascii = true;
    for (let i = 0; i < view.length && ascii; i++) ascii = (view[i] as number) < 0x80;
    if (ascii) return String.fromCharCode.apply(null, view as unknown as number[]);
  }
  return utf8.decode(view);
}

/** Longest string {@link decodeString} decodes as ASCII itself (arguments of one call). */
const ASCII_FAST_MAX = 1024;

/** True when the bytes are not valid UTF-8 (the decoded name is lossy). */
export function isLossyUtf8(bytes: Uint8Array): boolean {
  try {
    new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    return false;
  } catch {
    return true;
  }
}
