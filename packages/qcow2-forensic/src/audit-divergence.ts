import {
  type ByteSource,
  backingView,
  type DiffExtent,
  type DiffStats,
  type DiskView,
  diffSummariesAgainst,
  diffSummary,
  isQcow2Error,
  metadataView,
  type Qcow2Info,
  type Qcow2Snapshot,
  type SnapshotDivergence,
} from "@x/qcow2-core";
import type { AnomalyOf, Qcow2Anomaly } from "./anomaly.js";

/**
 * L2 tables one audit may compare across all snapshots (each costs a read on
 * both sides); tables a snapshot shares with the active disk cost nothing.
 * Past it, a snapshot's finding says "not computed" and names the command.
 */
export const DIVERGENCE_TABLE_BUDGET = 16384;

/** What a finding says of the divergence itself. */
type Measured = Pick<AnomalyOf<"QCOW2-DIVERGENCE">, "extents" | "bytes" | "first">;

/** What a finding says past the budget. */
const NOT_COMPUTED: Measured = { extents: null, bytes: null, first: null };

/** A path or state for a shell command line (quoted only when it needs it). */
export function shellQuote(text: string): string {
  return /^[A-Za-z0-9_./:=@%+,-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

/**
 * One finding per internal snapshot, and one for an overlay against its
 * backing file: how far the active disk has moved, from the image's own
 * metadata alone (no guest data, no passphrase, no backing file read). An
 * upper bound: `qcow2-forensic diff` gives the exact sectors.
 *
 * With `learnt` (a `SnapshotDivergence` the consistency check fed), each
 * snapshot it can answer for costs no read; the others are measured here.
 *
 * @example
 * ```ts
 * const findings = await auditDivergence(source, info, (await readSnapshots(source, info)).snapshots);
 * ```
 */
export async function auditDivergence(
  source: ByteSource,
  info: Qcow2Info,
  snapshots: readonly Qcow2Snapshot[],
  learnt?: SnapshotDivergence | null,
): Promise<Qcow2Anomaly[]> {
  // Entries past end of file are not snapshots anyone took: the truncation finding reports them.
  const real = snapshots.filter((s) => s.pastEof === "none");
  if (real.length === 0 && info.backingFile === null) return [];
  const active = await unlessUnreadable(() => metadataView(source, info, null));
  if (active === undefined) return [];
  const out: Qcow2Anomaly[] = [];
  const image = shellQuote(source.name);
  let budget = DIVERGENCE_TABLE_BUDGET;
  // Snapshots share most tables: a table pair compared for one is not compared again.
  const summarise = diffSummariesAgainst(active);
  // One literal per finding, no spreads: an image can have thousands of snapshots.
  const finding = (s: Qcow2Snapshot, m: Measured): Qcow2Anomaly => ({
    code: "QCOW2-DIVERGENCE",
    against: "snapshot",
    id: s.id,
    name: s.name,
    offset: s.offset,
    command: `qcow2-forensic diff ${image} --from ${shellQuote(`snapshot:${s.id}`)}`,
    extents: m.extents,
    bytes: m.bytes,
    first: m.first,
  });
  for (const s of real) {
    const known = learnt?.summary(s);
    if (known != null) {
      const cost = learnt?.differingTables(s) ?? 0;
      if (cost > budget) {
        out.push(finding(s, NOT_COMPUTED));
        continue;
      }
      budget -= cost;
      out.push(
        finding(s, { extents: known.extents, bytes: known.changedBytes, first: known.first }),
      );
      continue;
    }
    const measured = await unlessUnreadable(async () => {
      // Through the active view's table cache: a table many snapshots share is read once.
      const before = await metadataView(source, info, s, { shareTablesWith: active });
      const cost = differingTables(before, active);
      if (cost > budget) return NOT_COMPUTED;
      budget -= cost;
      return measure(summarise(before));
    });
    // A snapshot whose tables cannot be read gets no finding here: the consistency check reports them.
    if (measured !== undefined) out.push(finding(s, measured));
  }
  if (info.backingFile !== null) {
    const measured = await unlessUnreadable(() =>
      measure(diffSummary(backingView(active, 1), active, { metadataOnly: true })),
    );
    if (measured !== undefined) {
      out.push({
        code: "QCOW2-DIVERGENCE",
        against: "backing",
        id: null,
        name: info.backingFile.name ?? "",
        offset: info.backingFile.offset,
        command: `qcow2-forensic diff ${image} --from backing:1`,
        ...measured,
      });
    }
  }
  return out;
}

async function measure(
  summary: Promise<{ stats: DiffStats; first: DiffExtent | null }>,
): Promise<Measured> {
  const { stats, first } = await summary;
  return {
    extents: stats.extents,
    bytes: stats.changedBytes,
    first: first === null ? null : { start: first.start, length: first.length },
  };
}

/** L2 tables the two views do not share (the work a metadata diff of them does). */
function differingTables(a: DiskView, b: DiskView): number {
  const ta = a.layers[0];
  const tb = b.layers[0];
  const span = ta?.mappingTableSpan;
  if (ta?.mappingTableAt === undefined || tb?.mappingTableAt === undefined || span === undefined)
    return 0;
  let n = 0;
  const size = Math.max(a.virtualSize, b.virtualSize);
  for (let at = 0; at < size; at += span) if (ta.mappingTableAt(at) !== tb.mappingTableAt(at)) n++;
  return n;
}

/** `f()`, or `undefined` when the image's metadata cannot be decoded (a typed error other than I/O). */
async function unlessUnreadable<T>(f: () => Promise<T>): Promise<T | undefined> {
  try {
    return await f();
  } catch (e) {
    if (!isQcow2Error(e) || e.code === "IO") throw e;
    return undefined;
  }
}
