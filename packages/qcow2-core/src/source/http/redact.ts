/** What stands in for a URL's query string and credentials wherever a URL is shown. */
export const REDACTED = "REDACTED";

/** True for an `http://` or `https://` URL (what {@link httpSource} opens). */
export function isHttpUrl(text: string): boolean {
  return /^https?:\/\//i.test(text);
}

/**
 * The URL as it may be shown in a report or a message: the query string (a
 * pre-signed URL's signature lives there) and any `user:password@` are
 * replaced by `REDACTED`, the fragment is dropped.
 *
 * @example
 * ```ts
 * redactUrl("https://bucket.example/disk.qcow2?X-Amz-Signature=abc");
 * // "https://bucket.example/disk.qcow2?REDACTED"
 * ```
 */
export function redactUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not a URL: still never show what follows a '?' or precedes an '@'.
    const query = url.indexOf("?");
    const head = query < 0 ? url : `${url.slice(0, query)}?${REDACTED}`;
    return head.replace(/\/\/[^/]*@/, `//${REDACTED}@`);
  }
  const credentials = parsed.username !== "" || parsed.password !== "" ? `${REDACTED}@` : "";
  const query = parsed.search === "" ? "" : `?${REDACTED}`;
  return `${parsed.protocol}//${credentials}${parsed.host}${parsed.pathname}${query}`;
}
