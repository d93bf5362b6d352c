import type { GuestTime } from "@x/qcow2-forensic";
import { type ImageReport, type ReportEnvelope, renderJsonLines } from "@x/report";

/** One dated fact for a timeline. */
export interface DatedFact {
  unixSecs: number;
  path: string;
  /** What the date belongs to, e.g. `snapshot 1 "before-update"`. */
  subject: string;
  event: string;
  /** Size in bytes the fact concerns (VM state size for snapshots), or 0. */
  size: number;
}

/** The JSON Lines of one image (one line per finding, each with its path). */
export function jsonLinesFor(report: ImageReport): string {
  return renderJsonLines({ tool: { name: "", version: "" }, images: [report] });
}

/** Dated facts the findings carry: snapshot creation times (and time anomalies). */
export function datedFacts(envelope: ReportEnvelope): DatedFact[] {
  const out: DatedFact[] = [];
  for (const image of envelope.images) {
    for (const f of image.findings) {
      if (f.code !== "QCOW2-SNAPSHOT") continue;
      const field = (name: string) => f.evidence.find((e) => e.field === name)?.value ?? "";
      out.push({
        unixSecs: Number(field("date_unix_secs")),
        path: image.path,
        subject: `snapshot ${field("snapshot_id")} "${field("snapshot_name")}"`,
        event: "internal snapshot created",
        size: Number(field("vm_state_size")) || 0,
      });
    }
  }
  return out.sort((a, b) => a.unixSecs - b.unixSecs || a.path.localeCompare(b.path));
}

const csvCell = (v: string) => (/[",\r\n]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
const iso = (s: number) => {
  const d = new Date(s * 1000);
  return Number.isNaN(d.getTime()) ? "" : d.toISOString();
};

/** Renders dated facts as CSV (RFC 4180) or a Sleuth Kit body file (mactime/plaso). */
export function formatFacts(facts: readonly DatedFact[], kind: "csv" | "bodyfile"): string {
  if (kind === "bodyfile") {
    // TSK 3.x body: MD5|name|inode|mode|UID|GID|size|atime|mtime|ctime|crtime
    return facts
      .map((f) => {
        const name = `${f.path}:${f.subject} (${f.event})`
          .replaceAll("|", "\\|")
          .replace(/[\r\n]/g, " ");
        return `0|${name}|0|0|0|0|${f.size}|0|${f.unixSecs}|${f.unixSecs}|${f.unixSecs}`;
      })
      .map((l) => `${l}\n`)
      .join("");
  }
  const rows = [["timestamp_utc", "unix_secs", "path", "subject", "event", "size"]];
  for (const f of facts)
    rows.push([iso(f.unixSecs), String(f.unixSecs), f.path, f.subject, f.event, String(f.size)]);
  return rows.map((r) => `${r.map(csvCell).join(",")}\r\n`).join("");
}

/** The guest filesystems' times of one image as dated facts (subject: state and volume). */
export function guestDatedFacts(path: string, times: readonly GuestTime[]): DatedFact[] {
  return times.map((t) => ({
    unixSecs: t.unixSecs,
    path,
    subject: `${t.state}: ${t.volume}`,
    event: t.event,
    size: 0,
  }));
}

/** The audit's dated facts as a timeline: the findings' and the guest filesystems', in time order. */
export function renderTimeline(
  envelope: ReportEnvelope,
  kind: "csv" | "bodyfile",
  guest: readonly DatedFact[] = [],
): string {
  const facts = [...datedFacts(envelope), ...guest].sort(
    (a, b) =>
      a.unixSecs - b.unixSecs || a.path.localeCompare(b.path) || a.subject.localeCompare(b.subject),
  );
  return formatFacts(facts, kind);
}
