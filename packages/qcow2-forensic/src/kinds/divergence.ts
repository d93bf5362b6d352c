import { guestLocation } from "@x/report";
import type { AnomalyOf } from "../anomaly.js";
import { atHost } from "./cite.js";
import type { AnomalyKind } from "./kind.js";

type Divergence = AnomalyOf<"QCOW2-DIVERGENCE">;

const structure = (a: Divergence) =>
  a.against === "snapshot" ? "QCOW2 snapshot table" : "QCOW2 header (backing file name)";

const earlier = (a: Divergence) =>
  a.against === "snapshot"
    ? `snapshot \`${a.name}\` (id ${a.id})`
    : `its backing file \`${a.name}\``;

export const divergence: AnomalyKind<Divergence> = {
  severity: "low",
  category: "history",
  meaning:
    "how far the active disk has moved from an internal snapshot, or an overlay from its backing file: the extents whose cluster mappings differ (metadata only; `qcow2-forensic diff` gives the exact sectors)",
  note: (a) => {
    if (a.extents === null)
      return `how far the active disk differs from ${earlier(a)} was not computed within the audit's work bound — run \`${a.command}\` for the answer`;
    if (a.extents === 0)
      return `the active disk maps every cluster as ${earlier(a)} does — consistent with no guest write since then (from the cluster mappings alone); \`${a.command}\` confirms byte for byte`;
    return `the active disk differs from ${earlier(a)} in ${a.extents} extent(s), at most ${a.bytes} bytes (from the cluster mappings alone: rewrites of identical bytes count too) — consistent with guest writes since then; \`${a.command}\` gives the exact changed sectors`;
  },
  evidence: (a) => {
    const where = structure(a);
    const out = [
      atHost(
        "compared_with",
        a.against === "snapshot" ? `snapshot ${a.id} (${a.name})` : `backing file ${a.name}`,
        a.offset,
        undefined,
        where,
      ),
      atHost(
        "differing_extents",
        a.extents === null ? "not computed" : String(a.extents),
        a.offset,
        undefined,
        where,
      ),
      atHost(
        "at_most_bytes",
        a.bytes === null ? "not computed" : String(a.bytes),
        a.offset,
        undefined,
        where,
      ),
      atHost("exact_answer", a.command, a.offset, undefined, where),
    ];
    if (a.first !== null)
      out.push({
        field: "first_differing_extent",
        value: `${a.first.start}+${a.first.length}`,
        location: guestLocation(a.first.start, a.first.length),
      });
    return out;
  },
};
