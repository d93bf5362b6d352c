/** Node-only entry: audit an image file by path or URL (opened read-only). */
import type { HttpSourceOptions } from "@x/qcow2-core";
import { evidenceResolvers, openEvidenceSource } from "@x/qcow2-core/node";
import type { Qcow2Anomaly } from "./anomaly.js";
import { type AuditOptions, auditImage } from "./audit-image.js";

/** {@link AuditOptions} plus where to look for backing files. */
export interface AuditPathOptions extends AuditOptions {
  /** Look for backing files only in this folder (see `fileBackingResolver`). */
  backingDir?: string;
  /** How images given as `http(s)://` URLs are fetched (headers, timeouts, …). */
  http?: HttpSourceOptions;
}

/**
 * Audits the image at `path` (a file, or an `http(s)://` URL read with Range
 * requests) in one pass (the seed's `audit_path`, extended):
 * header, snapshots, bitmaps, LUKS, the backing chain resolved next to the
 * image (or in `backingDir`), and the consistency check. Throws a
 * `Qcow2Error` for unreadable or malformed input. Sorted by severity.
 *
 * @example
 * ```ts
 * import { auditPath } from "@x/qcow2-forensic/node";
 * import { toFindings } from "@x/qcow2-forensic";
 * const findings = toFindings(await auditPath("disk.qcow2"));
 * ```
 */
export async function auditPath(
  path: string,
  options: AuditPathOptions = {},
): Promise<Qcow2Anomaly[]> {
  const source = await openEvidenceSource(path, options);
  try {
    return await auditImage(source, {
      resolveBacking: evidenceResolvers(path, options).resolveBacking,
      ...options,
    });
  } finally {
    await source.close();
  }
}
