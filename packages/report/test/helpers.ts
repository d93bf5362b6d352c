import type { Finding, ReportEnvelope, Severity } from "../src/index.js";
import { buildImageReport, fieldLocation, guestLocation, hostLocation } from "../src/index.js";

export function finding(code: string, severity?: Severity, note = `note for ${code}`): Finding {
  const f: Finding = {
    category: "structure",
    code,
    note,
    source: { analyzer: "test", scope: "unit" },
    evidence: [],
  };
  return severity === undefined ? f : { severity, ...f };
}

export function sampleEnvelope(): ReportEnvelope {
  return {
    tool: { name: "qcow2-forensic", version: "0.1.0" },
    images: [
      buildImageReport("disk.qcow2", [
        {
          severity: "high",
          category: "hidden-data",
          code: "DATA_BEYOND_EOF",
          note: "Allocated cluster lies past the refcounted area",
          source: { analyzer: "refcounts", scope: "refcount table", version: "0.1.0" },
          evidence: [
            {
              field: "cluster",
              value: "0x50000",
              location: hostLocation(0x50000, 65536, "L2 table"),
            },
            { field: "refcount", value: "0" },
          ],
        },
        {
          severity: "info",
          category: "format",
          code: "V3",
          note: "QCOW2 version 3",
          source: { analyzer: "header", scope: "QCOW2 header" },
          evidence: [
            { field: "version", value: "3", location: fieldLocation("QCOW2 header", "version") },
          ],
        },
        {
          category: "history",
          code: "SNAPSHOT",
          note: 'Snapshot "a, b"\nwith "quotes"',
          source: { analyzer: "snapshots", scope: "snapshot table" },
          evidence: [{ field: "name", value: "a, b", location: guestLocation(0, 512) }],
        },
      ]),
      buildImageReport("clean.qcow2", []),
      buildImageReport("broken.qcow2", [], { code: "NOT_QCOW2", message: "bad magic" }),
    ],
  };
}
