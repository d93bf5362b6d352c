// Internal: how an image path becomes a SARIF artifactLocation. SARIF (§3.4.3,
// §3.4.4) wants absolute locations as absolute URIs and relative ones as
// relative references resolved against a named base (`uriBaseId`); a relative
// reference that begins with "/" is an error for the official validator
// (SARIF1004). Pure string work, no `node:` import, so the renderer stays
// usable in a browser.

/** The base that relative image paths are resolved against: the directory the tool ran in. */
export const SRCROOT = "%SRCROOT%";

/** A SARIF artifactLocation without `index`. */
export interface UriLocation {
  uri: string;
  uriBaseId?: string;
}

// RFC 3986 unreserved characters, sub-delims and "@": legal in a path
// segment as they are. ":" is left out on purpose: in a relative reference a
// colon in the first segment would read as a scheme ("a:b.qcow2" → scheme "a").
const SEGMENT_SAFE = /^[A-Za-z0-9\-._~!$&'()*+,;=@]$/;
// Two letters or more, so that a Windows drive ("C:\…") is not taken for a scheme.
const URL_WITH_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]+:\/\//;
const WINDOWS_DRIVE = /^([A-Za-z]):[\\/]/;
const WINDOWS_UNC = /^\\\\([^\\/]+)[\\/]/;

function encodeSegment(segment: string): string {
  let out = "";
  for (const ch of segment) {
    if (SEGMENT_SAFE.test(ch)) {
      out += ch;
      continue;
    }
    try {
      out += encodeURIComponent(ch);
    } catch {
      // A lone surrogate cannot be UTF-8 encoded; mark it (U+FFFD) rather than fail the report.
      out += "%EF%BF%BD";
    }
  }
  return out;
}

/** Percent-encodes every character a path segment may not hold as is; "/" separates segments. */
export function encodePath(path: string): string {
  return path.split("/").map(encodeSegment).join("/");
}

function fileUri(host: string, absolutePath: string): string {
  return `file://${host}${encodePath(absolutePath)}`;
}

/**
 * An absolute URI for an absolute path (POSIX `/…`, Windows `C:\…`, UNC
 * `\\server\share\…`) or a URL, or `undefined` when the path is relative.
 */
export function absoluteUri(path: string): string | undefined {
  if (URL_WITH_SCHEME.test(path)) {
    try {
      return new URL(path).href;
    } catch {
      return undefined;
    }
  }
  if (path.startsWith("/")) return fileUri("", path.replace(/^\/+/, "/"));
  const drive = WINDOWS_DRIVE.exec(path);
  // The drive's colon stays literal: "file:///C:/…" is how every consumer spells it (RFC 8089 §E.2).
  if (drive) return `file:///${drive[1]}:${encodePath(path.slice(2).replaceAll("\\", "/"))}`;
  const unc = WINDOWS_UNC.exec(path);
  if (unc) {
    const host = encodeSegment(unc[1] as string);
    return fileUri(host, path.slice(unc[0].length - 1).replaceAll("\\", "/"));
  }
  return undefined;
}

/**
 * The artifactLocation of an image path: a `file://` URI when the path is
 * absolute, else the percent-encoded relative reference with `uriBaseId`
 * {@link SRCROOT}.
 */
export function artifactUri(path: string): UriLocation {
  const absolute = absoluteUri(path);
  if (absolute !== undefined) return { uri: absolute };
  return { uri: encodePath(path), uriBaseId: SRCROOT };
}

/** The `file://` URI of an absolute directory, ending in "/" as SARIF requires of a base. */
export function directoryUri(directory: string): string | undefined {
  const uri = absoluteUri(directory);
  if (uri === undefined) return undefined;
  return uri.endsWith("/") ? uri : `${uri}/`;
}
