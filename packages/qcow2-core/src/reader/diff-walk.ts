import { ChainCursor, type Resolved } from "./chain-cursor.js";
import type { LayerStorage } from "./layer.js";
import { SharedTables } from "./shared-tables.js";
import type { DiskView } from "./state.js";

/**
 * A range, on the sector grid, whose mappings differ on the two sides: what
 * an exact diff reads and compares, and a metadata-only diff reports.
 */
export interface Candidate {
  start: number;
  end: number;
  /** How each side stores the range (it lies within one answer of each side when `known`). */
  a: Resolved;
  b: Resolved;
  /** The range lies within `a` and `b`: a side known to read as zeros need not be read. */
  known: boolean;
}

/** Counters the walk keeps (the diff's {@link DiffStats}). */
interface WalkStats {
  candidateBytes: number;
}

/**
 * Walks two states in guest order and stops at each range whose mappings
 * differ. Most steps need no read: {@link next} answers without a promise
 * until an L2 table must be read, so a caller that only counts (the audit's
 * divergence of every snapshot) pays no promise per extent.
 */
export class DiffWalk {
  private readonly a: ChainCursor;
  private readonly b: ChainCursor;
  private readonly shared: SharedTables | null;
  // End of what has been compared (or reported) so far, on the sector grid.
  private covered = 0;
  private pos = 0;
  /** Where the walk resumes after the candidate it returned. */
  private resume = -1;

  constructor(
    from: DiskView,
    to: DiskView,
    private readonly size: number,
    private readonly granularity: number,
    private readonly stats: WalkStats,
    private readonly progress: (at: number) => void,
  ) {
    this.a = new ChainCursor(from, size);
    this.b = new ChainCursor(to, size);
    this.shared = SharedTables.of(from, to);
  }

  get cursors(): [ChainCursor, ChainCursor] {
    return [this.a, this.b];
  }

  /** The next candidate; `null` at the end; a promise when a table must be read first. */
  next(): Candidate | null | Promise<Candidate | null> {
    if (this.resume >= 0) {
      this.pos = this.resume;
      this.resume = -1;
      this.progress(this.pos);
    }
    const g = this.granularity;
    while (this.pos < this.size) {
      const pos = this.pos;
      if (this.shared !== null) {
        const skip = this.shared.skipTo(pos);
        if (skip > pos) {
          this.pos = skip;
          continue;
        }
      }
      const ra = this.a.atSync(pos);
      const rb = ra === undefined ? undefined : this.b.atSync(pos);
      if (ra === undefined || rb === undefined) return this.afterRead(pos);
      const end = Math.min(ra.end, rb.end);
      if (!sameBytes(ra, rb, pos)) {
        this.stats.candidateBytes += end - pos;
        // Whole sectors: a sector that straddles a mapping boundary (raw files of odd sizes) is compared whole.
        const gridStart = Math.max(Math.floor(pos / g) * g, this.covered);
        const gridEnd = Math.min(Math.ceil(end / g) * g, this.size);
        if (gridStart < gridEnd) {
          this.covered = gridEnd;
          this.resume = end;
          return {
            start: gridStart,
            end: gridEnd,
            a: ra,
            b: rb,
            known: gridStart >= pos && gridEnd <= end,
          };
        }
      }
      this.pos = end;
      this.progress(end);
    }
    return null;
  }

  /** Reads what both sides need at `pos`, then walks on. */
  private async afterRead(pos: number): Promise<Candidate | null> {
    await this.a.at(pos);
    await this.b.at(pos);
    this.shared?.forget();
    return this.next();
  }
}

/** Same host bytes (or zeros on both sides) for the range from `pos`: unchanged without a read. */
function sameBytes(a: Resolved, b: Resolved, pos: number): boolean {
  if (a.zero && b.zero) return true;
  if (a.kind !== b.kind || a.fileId === undefined || a.fileId !== b.fileId) return false;
  const sa = a.storage as LayerStorage;
  const sb = b.storage as LayerStorage;
  if (Boolean(sa.encrypted) !== Boolean(sb.encrypted)) return false;
  if (a.kind === "data")
    return (sa.offset as number) + (pos - a.start) === (sb.offset as number) + (pos - b.start);
  return (
    sa.offset === sb.offset &&
    sa.compressedLength === sb.compressedLength &&
    (sa.inCluster as number) + (pos - a.start) === (sb.inCluster as number) + (pos - b.start)
  );
}
