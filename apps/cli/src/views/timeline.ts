import type { GuestTime } from "@x/qcow2-forensic";
import { type ImageReport, type ReportEnvelope, renderJsonLines } from "@x/report";
import { renderBodyfile } from "./bodyfile.js";
import { renderTimelineCsv } from "./timeline-csv.js";

/** One dated fact for a timeline: one event, one time. */
export interface DatedFact {
  unixSecs: number;
  path: string;
  /** What the date belongs to, e.g. `snapshot 1 "before-update"`. */
  subject: string;
  /** What happened, e.g. `internal snapshot created`. */
  event: string;
  /** Which time this is, in plaso's words (Timesketch's `timestamp_desc`), e.g. `Creation Time`. */
  timestampDesc: string;
  /** Size in bytes the fact concerns (VM state size for snapshots), as a decimal string. */
  size: string;
}

/** The JSON Lines of one image (one line per finding, each with its path). */
export function jsonLinesFor(report: ImageReport): string {
  return renderJsonLines({ tool: { name: "", version: "" }, images: [report] });
}

/** A snapshot's creation, the one dated event a QCOW2 image records. */
export function snapshotCreated(
  path: string,
  snapshot: { id: string; name: string; dateSec: number; vmStateSize: number | string },
): DatedFact {
  return {
    unixSecs: snapshot.dateSec,
    path,
    subject: `snapshot ${snapshot.id} "${snapshot.name}"`,
    event: "internal snapshot created",
    timestampDesc: "Creation Time",
    size: String(snapshot.vmStateSize),
  };
}

// Unsigned decimal seconds as the snapshot table stores them (32 bits): always a valid date.
const SECONDS = /^\d{1,10}$/;

/** Dated facts the findings carry: snapshot creation times, in time order. */
export function datedFacts(envelope: ReportEnvelope): DatedFact[] {
  const out: DatedFact[] = [];
  for (const image of envelope.images) {
    for (const f of image.findings) {
      if (f.code !== "QCOW2-SNAPSHOT") continue;
      const field = (name: string) => f.evidence.find((e) => e.field === name)?.value ?? "";
      // A finding without a readable date is no timeline event: never a made-up 1970.
      const date = field("date_unix_secs");
      if (!SECONDS.test(date)) continue;
      out.push(
        snapshotCreated(image.path, {
          id: field("snapshot_id"),
          name: field("snapshot_name"),
          dateSec: Number(date),
          vmStateSize: field("vm_state_size") || "0",
        }),
      );
    }
  }
  return sortFacts(out);
}

/** Time order, then path and subject (code-unit order: the same on every machine). */
export function sortFacts(facts: readonly DatedFact[]): DatedFact[] {
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...facts].sort(
    (a, b) => a.unixSecs - b.unixSecs || cmp(a.path, b.path) || cmp(a.subject, b.subject),
  );
}

/** Renders dated facts as a Timesketch CSV or a Sleuth Kit body file. */
export function formatFacts(facts: readonly DatedFact[], kind: "csv" | "bodyfile"): string {
  return kind === "bodyfile" ? renderBodyfile(facts) : renderTimelineCsv(facts);
}

/** plaso's `timestamp_desc` for each guest filesystem event. */
const GUEST_TIME_DESC: Record<string, string> = {
  "filesystem created": "Creation Time",
  "filesystem last mounted": "Last Mount Time",
  "filesystem last written": "Last Written Time",
};

/** The guest filesystems' times of one image as dated facts (subject: state and volume). */
export function guestDatedFacts(path: string, times: readonly GuestTime[]): DatedFact[] {
  return times.map((t) => ({
    unixSecs: t.unixSecs,
    path,
    subject: `${t.state}: ${t.volume}`,
    event: t.event,
    timestampDesc: GUEST_TIME_DESC[t.event] ?? "Time",
    size: "0",
  }));
}

/** The audit's dated facts as a timeline: the findings' and the guest filesystems', in time order. */
export function renderTimeline(
  envelope: ReportEnvelope,
  kind: "csv" | "bodyfile",
  guest: readonly DatedFact[] = [],
): string {
  return formatFacts(sortFacts([...datedFacts(envelope), ...guest]), kind);
}
