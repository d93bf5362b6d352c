import { Qcow2Error } from "../errors.js";

/**
 * Largest status line plus header block accepted (node:http's default is
 * 16 KiB; object stores answer with well under 4 KiB).
 */
export const MAX_HEAD_BYTES = 32 * 1024;
/** Most header lines accepted in one answer (a bound on a hostile server's work). */
export const MAX_HEADER_LINES = 200;

/** The status line and headers of one HTTP/1.x answer (RFC 9112 §4, §5). */
export interface ResponseHead {
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minorVersion: 0 | 1;
  status: number;
  statusText: string;
  /** Lower-case name → value; a name sent twice is joined with ", " as node:http does. */
  headers: Map<string, string>;
  /** Bytes of the head, the blank line included: the body starts there. */
  length: number;
}

// RFC 9110 §5.6.2 token, §5.5 field value (visible ASCII, obs-text, space and tab).
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([\t\x20-\x7e\x80-\xff]*))?$/;

/** The typed error for an answer outside HTTP/1.1's grammar or this client's bounds. */
export function malformed(message: string): Qcow2Error {
  // Header values are never put in a message: they may carry credentials echoed back.
  return new Qcow2Error("IO", `malformed HTTP response: ${message}`, { field: "HTTP response" });
}

/** Index of the blank line ending the head (`\r\n\r\n`) in `bytes`, searched from `from`; -1 if absent. */
export function headEnd(bytes: Uint8Array, from = 0): number {
  for (let i = Math.max(0, from); i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10)
      return i;
  }
  return -1;
}

/**
 * Parses a complete head (status line, header lines, blank line; CRLF line
 * ends) from the start of `bytes`, of which the first `end` bytes come
 * before the blank line. Anything outside RFC 9112's grammar (bare LF, a
 * folded line, a bad name, a status that is not three digits) is a typed
 * `IO` error, as is a `Content-Length` that is not one non-negative safe
 * integer.
 *
 * @example
 * ```ts
 * const bytes = new TextEncoder().encode("HTTP/1.1 206 Partial Content\r\nContent-Length: 5\r\n\r\n");
 * parseResponseHead(bytes, headEnd(bytes)).status; // 206
 * ```
 */
export function parseResponseHead(bytes: Uint8Array, end: number): ResponseHead {
  if (end + 4 > MAX_HEAD_BYTES) throw malformed(`head longer than ${MAX_HEAD_BYTES} bytes`);
  const text = latin1(bytes, end);
  const lines = text.split("\r\n");
  if (lines.length - 1 > MAX_HEADER_LINES)
    throw malformed(`more than ${MAX_HEADER_LINES} header lines`);
  const status = STATUS_LINE.exec(lines[0] as string);
  if (status === null) throw malformed("bad status line");
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    const colon = line.indexOf(":");
    if (colon <= 0) throw malformed(`header line ${i} has no name`);
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw malformed(`header line ${i} has a bad name`);
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (!FIELD_VALUE.test(value) || value.includes("\n") || value.includes("\r"))
      throw malformed(`header line ${i} has a bad value`);
    const key = name.toLowerCase();
    const had = headers.get(key);
    if (key === "content-length" && had !== undefined && had !== value)
      throw malformed("two different Content-Length headers");
    headers.set(key, had === undefined || key === "content-length" ? value : `${had}, ${value}`);
  }
  const declared = headers.get("content-length");
  if (declared !== undefined && !(/^\d{1,16}$/.test(declared) && Number.isSafeInteger(+declared)))
    throw malformed("Content-Length is not a byte count");
  return {
    minorVersion: status[1] === "1" ? 1 : 0,
    status: Number(status[2]),
    statusText: status[3] ?? "",
    headers,
    length: end + 4,
  };
}

function latin1(bytes: Uint8Array, end: number): string {
  let out = "";
  // Chunked: String.fromCharCode takes its arguments on the stack.
  for (let at = 0; at < end; at += 8192)
    out += String.fromCharCode(...bytes.subarray(at, Math.min(end, at + 8192)));
  return out;
}
