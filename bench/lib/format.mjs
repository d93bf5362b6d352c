// How figures read in the report and the log: seconds, sizes, ratios and markdown tables.
import { GiB, KiB, MiB } from "./units.mjs";

export const fmtS = (s) => (s == null ? "n/a" : s < 10 ? `${s.toFixed(3)} s` : `${s.toFixed(2)} s`);
export const fmtNum = (s) => (s < 10 ? s.toFixed(3) : s.toFixed(2));
export const fmtRange = (st) =>
  st ? `${fmtNum(st.median)} s [${fmtNum(st.min)}–${fmtNum(st.max)}]` : "n/a";
export const fmtMB = (kib) => (kib == null ? "n/a" : `${((kib * 1024) / 1e6).toFixed(0)} MB`);
export const fmtRatio = (x) => `${x.toFixed(2)}×`;
export const fmtGBs = (bytes, s) => `${(bytes / s / 1e9).toFixed(2)} GB/s`;
export const fmtSize = (b) =>
  b >= GiB
    ? `${(b / GiB).toFixed(2)} GiB`
    : b >= MiB
      ? `${(b / MiB).toFixed(1)} MiB`
      : b >= KiB
        ? `${(b / KiB).toFixed(b % KiB ? 1 : 0)} KiB`
        : `${b} B`;

export function table(headers, rows) {
  const line = (cells) => `| ${cells.join(" | ")} |`;
  return [line(headers), line(headers.map(() => "---")), ...rows.map(line)].join("\n");
}
