import type { Evidence } from "@x/report";
import type { AnomalyOf } from "../anomaly.js";
import { atHost } from "./cite.js";
import type { AnomalyKind } from "./kind.js";

/** The link of the chain a finding is about: the name, who names it, how deep. */
function chainLinkEvidence(a: { name: string; referrer: string; depth: number }): Evidence[] {
  return [
    {
      field: "backing_file",
      value: a.name,
      location: { kind: "field", structure: "QCOW2 backing file name" },
    },
    { field: "referrer", value: a.referrer },
    { field: "depth", value: String(a.depth) },
  ];
}

export const backingMissing: AnomalyKind<AnomalyOf<"QCOW2-BACKING-MISSING">> = {
  severity: "high",
  category: "provenance",
  meaning:
    "a backing file of the chain cannot be found or opened: the guest disk cannot be reconstructed",
  note: (a) =>
    `backing file \`${a.name}\` (chain depth ${a.depth}, named by ${a.referrer}) cannot be found or opened — the guest disk cannot be reconstructed without it; acquire it from the original host (${a.message})`,
  evidence: chainLinkEvidence,
};

export const backingLoop: AnomalyKind<AnomalyOf<"QCOW2-BACKING-LOOP">> = {
  severity: "high",
  category: "integrity",
  meaning: "the backing chain refers back to an image already in it",
  note: (a) =>
    `backing file \`${a.name}\` (named by ${a.referrer}) is already part of the chain — consistent with a tampered or mis-rebased image; QEMU cannot open it`,
  evidence: chainLinkEvidence,
};

export const backingAbsolutePath: AnomalyKind<AnomalyOf<"QCOW2-BACKING-ABSOLUTE-PATH">> = {
  severity: "info",
  category: "provenance",
  meaning:
    "a backing file is named by an absolute path, which discloses the original host's storage layout",
  note: (a) =>
    `backing file is named by the absolute path \`${a.name}\` — it discloses where the original host kept its images; look for the base there`,
  evidence: (a) => [
    atHost("backing_file", a.name, a.offset, a.name.length, "QCOW2 backing file name"),
    { field: "depth", value: String(a.depth) },
  ],
};
