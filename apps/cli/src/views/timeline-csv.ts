import type { DatedFact } from "./timeline.js";

/** Timesketch's three mandatory CSV columns first, its optional `timestamp` (µs), then ours. */
export const TIMELINE_COLUMNS = [
  "message",
  "datetime",
  "timestamp_desc",
  "timestamp",
  "path",
  "subject",
  "event",
  "size",
] as const;

const cell = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);

/**
 * A timeline CSV (RFC 4180, CRLF) that Timesketch imports as it is: `message`,
 * `datetime` (ISO 8601, UTC), `timestamp_desc`, `timestamp` (microseconds since
 * the epoch, Timesketch's unit), then `path`, `subject`, `event` and `size`.
 */
export function renderTimelineCsv(facts: readonly DatedFact[]): string {
  const rows: string[][] = [[...TIMELINE_COLUMNS]];
  for (const f of facts) {
    rows.push([
      `${f.event}: ${f.subject} in ${f.path}`,
      new Date(f.unixSecs * 1000).toISOString(),
      f.timestampDesc,
      `${f.unixSecs}000000`,
      f.path,
      f.subject,
      f.event,
      f.size,
    ]);
  }
  return rows.map((r) => `${r.map(cell).join(",")}\r\n`).join("");
}
