// Report sections that several groups share.
import { fmtGBs, fmtMB, fmtRange, fmtRatio, table } from "./format.mjs";

/**
 * A "## title" section with one row per comparePair result (label "<command> <image>"): both
 * medians, their ratio, both peak RSS, then the `extra` columns ({ head, cell(row) }).
 * Writes nothing when there are no rows.
 */
export function pairSection(md, { title, caption, rows, refName, extra = [] }) {
  if (!rows?.length) return;
  md.push(`## ${title}`, "");
  if (caption) md.push(caption, "");
  md.push(
    table(
      [
        "command",
        "image",
        "ours median [min–max]",
        "reference median [min–max]",
        "ratio",
        "our peak RSS",
        "reference peak RSS",
        ...extra.map((e) => e.head),
      ],
      rows.map((r) => [
        `\`${r.label.split(" ")[0]}\` vs ${refName}`,
        r.label.split(" ")[1],
        fmtRange(r.ours),
        fmtRange(r.ref),
        fmtRatio(r.ours.median / r.ref.median),
        fmtMB(r.ours.rssKiB),
        fmtMB(r.ref.rssKiB),
        ...extra.map((e) => e.cell(r)),
      ]),
    ),
    "",
  );
}

/** Throughput columns for rows that carry `bytes` (guest bytes read). */
export const gbsColumns = [
  { head: "ours GB/s", cell: (r) => fmtGBs(r.bytes, r.ours.median) },
  { head: "reference GB/s", cell: (r) => fmtGBs(r.bytes, r.ref.median) },
];
