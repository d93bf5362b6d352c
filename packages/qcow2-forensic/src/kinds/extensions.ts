import type { AnomalyOf } from "../anomaly.js";
import { atHost } from "./cite.js";
import type { AnomalyKind } from "./kind.js";

export const unknownHeaderExtension: AnomalyKind<AnomalyOf<"QCOW2-UNKNOWN-HEADER-EXTENSION">> = {
  severity: "low",
  category: "format",
  meaning: "a header extension of a type QEMU does not define",
  note: (a) =>
    `header extension of unknown type ${a.type} (${a.length} bytes) at offset 0x${a.offset.toString(16)} — consistent with a non-QEMU writer or data hidden in the header cluster`,
  evidence: (a) => [
    atHost(
      "header_extension",
      `${a.type}, ${a.length} bytes`,
      a.offset,
      a.length + 8,
      "QCOW2 header extension",
    ),
  ],
};

export const headerInconsistent: AnomalyKind<AnomalyOf<"QCOW2-HEADER-INCONSISTENT">> = {
  severity: "medium",
  category: "format",
  meaning: "header fields contradict each other or the spec",
  note: (a) =>
    `${a.problems.length} header inconsistenc${a.problems.length === 1 ? "y" : "ies"}: ${a.problems.map((p) => p.message).join("; ")} — consistent with a damaged or hand-edited header`,
  evidence: (a) =>
    a.problems.map((p) =>
      p.offset === undefined
        ? {
            field: p.field,
            value: p.value,
            location: { kind: "field" as const, structure: "QCOW2 header", field: p.field },
          }
        : atHost(p.field, p.value, p.offset, undefined, "QCOW2 header"),
    ),
};
