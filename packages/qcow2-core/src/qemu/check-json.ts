import type { CheckReport } from "../check/types.js";

/** `qemu-img check --output=json` keys; optional ones only when non-zero, as QEMU prints them. */
export interface QemuCheckJson {
  "image-end-offset"?: number;
  "compressed-clusters"?: number;
  "total-clusters"?: number;
  "check-errors": number;
  leaks?: number;
  corruptions?: number;
  "allocated-clusters"?: number;
  filename: string;
  format: string;
  "fragmented-clusters"?: number;
}

/** The object `qemu-img check --output=json` prints for this report. */
export function toQemuCheckJson(report: CheckReport, filename: string): QemuCheckJson {
  const out: Record<string, unknown> = {};
  const put = (key: string, value: number) => {
    if (value !== 0) out[key] = value;
  };
  put("image-end-offset", report.imageEndOffset);
  put("compressed-clusters", report.compressedClusters);
  put("total-clusters", report.totalClusters);
  out["check-errors"] = report.checkErrors;
  put("leaks", report.leaks);
  put("corruptions", report.corruptions);
  put("allocated-clusters", report.allocatedClusters);
  out.filename = filename;
  out.format = "qcow2";
  put("fragmented-clusters", report.fragmentedClusters);
  return out as unknown as QemuCheckJson;
}

/** qemu-img check's exit code: 1 could not complete, 2 corruptions, 3 leaks only, 0 clean. */
export function qemuCheckExitCode(report: CheckReport): 0 | 1 | 2 | 3 {
  if (report.checkErrors > 0) return 1;
  if (report.corruptions > 0) return 2;
  if (report.leaks > 0) return 3;
  return 0;
}
