import type { AnomalyOf } from "../anomaly.js";
import { atHost } from "./cite.js";
import type { AnomalyKind } from "./kind.js";

const DIR = "QCOW2 bitmap directory";

export const bitmaps: AnomalyKind<AnomalyOf<"QCOW2-BITMAPS">> = {
  severity: "info",
  category: "history",
  meaning:
    "persistent dirty bitmaps are present: they record which guest ranges changed since they were created",
  note: (a) =>
    `${a.bitmaps.length} persistent dirty bitmap(s) (${a.bitmaps.map((b) => b.name).join(", ")})${a.consistent ? "" : ", marked inconsistent by a writer without bitmap support"} — they show which guest ranges were written since each bitmap started, e.g. since the last incremental backup`,
  evidence: (a) =>
    a.bitmaps.map((b) =>
      atHost(
        "bitmap",
        `${b.name}, granularity ${b.granularity ?? "invalid"}${b.auto ? ", auto" : ""}${b.inUse ? ", in-use" : ""}`,
        b.offset,
        undefined,
        DIR,
      ),
    ),
};

export const bitmapInUse: AnomalyKind<AnomalyOf<"QCOW2-BITMAP-IN-USE">> = {
  severity: "low",
  category: "integrity",
  meaning:
    "a bitmap is flagged in-use: the image was not closed cleanly while the bitmap was being updated",
  note: (a) =>
    `bitmap \`${a.name}\` is flagged in-use — consistent with the image not having been closed cleanly (VM running or crashed); the bitmap's contents are not trustworthy`,
  evidence: (a) => [atHost("bitmap_flags", `${a.name}: in-use`, a.offset + 12, 4, DIR)],
};
