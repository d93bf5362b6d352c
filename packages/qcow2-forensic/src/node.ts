/** Node-only entry: audit an image file by path (opened read-only). */
import { openFileSource } from "@x/qcow2-core/node";
import type { Qcow2Anomaly } from "./anomaly.js";
import { auditImage } from "./audit.js";

/**
 * Audits the image at `path` in one step (the seed's `audit_path`): header,
 * per-snapshot and orphan anomalies. Throws a `Qcow2Error` for unreadable or
 * malformed input.
 *
 * @example
 * ```ts
 * import { auditPath } from "@x/qcow2-forensic/node";
 * import { toFindings } from "@x/qcow2-forensic";
 * const findings = toFindings(await auditPath("disk.qcow2"));
 * ```
 */
export async function auditPath(path: string): Promise<Qcow2Anomaly[]> {
  const source = await openFileSource(path);
  try {
    return await auditImage(source);
  } finally {
    await source.close();
  }
}
