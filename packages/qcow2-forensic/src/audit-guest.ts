/**
 * Inside the guest: the volume layout of every state the reader opens (the
 * active disk, each internal snapshot, the backing file), graded into
 * findings, and the filesystem times for the timeline.
 */
import type { Qcow2Snapshot } from "@x/qcow2-core";
import {
  compareBootCode,
  compareLayouts,
  type Filesystem,
  isVolumesError,
  type Partition,
  readVolumes,
  unaccounted,
  type VolumeLayout,
  type VolumeProblem,
} from "@x/volumes";
import type { GuestVolumeRef, Qcow2Anomaly } from "./anomaly.js";
import {
  type GuestDiskHandle,
  type GuestOpener,
  type GuestState,
  type KnownImage,
  stateLabel,
} from "./guest-opener.js";

/**
 * Most snapshot states looked inside, the newest first (each is one more
 * open of the image and a few tens of KiB read); snapshots sharing one L1
 * table are one state.
 */
export const MAX_GUEST_SNAPSHOTS = 16;
/** Most bytes read outside the partitions to tell data from zeros, and the most per range. */
export const MAX_UNPARTITIONED_SCAN = 4 * 1024 * 1024;
const SCAN_PER_RANGE = 64 * 1024;
const MAX_RANGES_CITED = 16;

/** One dated filesystem fact of one state (for timelines). */
export interface GuestTime {
  unixSecs: number;
  /** The state, e.g. `snapshot 1 "before"`. */
  state: string;
  /** "partition 2 (ext4 `root`)" or "whole disk (…)". */
  volume: string;
  /** "filesystem created", "filesystem last mounted", "filesystem last written". */
  event: string;
}

/** What the guest audit found. */
export interface GuestAudit {
  anomalies: Qcow2Anomaly[];
  times: GuestTime[];
  /** The states read, with their layouts (in the order: active, snapshots, backing). */
  states: Array<{ state: GuestState; label: string; layout: VolumeLayout }>;
}

const GPT_DAMAGE = new Set([
  "gpt-primary-invalid",
  "gpt-backup-invalid",
  "gpt-primary-backup-mismatch",
  "gpt-unreadable",
  "gpt-without-protective-mbr",
]);
const TABLE_INCONSISTENCY = new Set([
  "ebr-loop",
  "too-many-partitions",
  "ebr-unreadable",
  "ebr-extra-link",
  "ebr-extra-data",
  "extra-extended",
  "extended-bad-offset",
  "partition-past-end",
  "partitions-overlap",
  "logical-outside-extended",
  "partition-out-of-range",
  "partition-outside-usable",
]);
const TIME_FIELDS = [
  ["created", "created", "filesystem created"],
  ["lastMounted", "last mounted", "filesystem last mounted"],
  ["lastWritten", "last written", "filesystem last written"],
] as const;

/** Reads one state's layout; a state that cannot be opened or read is left out. */
async function readState(
  open: GuestOpener,
  state: GuestState,
  known: KnownImage | undefined,
): Promise<{ layout: VolumeLayout; disk: GuestDiskHandle } | null> {
  let disk: GuestDiskHandle | null = null;
  try {
    disk = await open(state, known);
    if (disk === null) return null;
    return { layout: await readVolumes(disk), disk };
  } catch {
    // Unopenable states (no passphrase, missing backing file, a disk the reader refuses) are the
    // container audit's business; a failing disk read is a VolumesError: both leave the state out.
    await disk?.close().catch(() => undefined);
    return null;
  }
}

/** Each signature of a layout with its partition (null for the whole disk). */
function signatures(layout: VolumeLayout): Array<{ fs: Filesystem; part: Partition | null }> {
  const out: Array<{ fs: Filesystem; part: Partition | null }> = [];
  if (layout.filesystem !== null) out.push({ fs: layout.filesystem, part: null });
  for (const p of layout.partitions)
    if (p.filesystem !== null) out.push({ fs: p.filesystem, part: p });
  return out;
}

function volumeRef(fs: Filesystem, part: Partition | null, layout: VolumeLayout): GuestVolumeRef {
  return {
    states: [],
    partition: part === null ? null : part.number,
    offset: part === null ? 0 : part.start,
    length: part === null ? layout.size : part.length,
    type: fs.type,
    uuid: fs.uuid,
    label: fs.label,
  };
}

const describeVolume = (v: GuestVolumeRef) =>
  `${v.partition === null ? "whole disk" : `partition ${v.partition}`} (${v.type}${v.label === null ? "" : ` \`${v.label}\``})`;

/** Accumulates per-state findings, one per distinct fact, listing the states it was seen in. */
class Collector {
  private readonly byKey = new Map<string, Qcow2Anomaly>();
  add(key: string, label: string, make: () => Qcow2Anomaly): void {
    let a = this.byKey.get(key);
    if (a === undefined) {
      a = make();
      this.byKey.set(key, a);
    }
    const states = "volume" in a ? a.volume.states : "states" in a ? a.states : null;
    if (states !== null && !states.includes(label)) states.push(label);
  }
  values(): Qcow2Anomaly[] {
    return [...this.byKey.values()];
  }
}

function auditSignatures(
  c: Collector,
  label: string,
  layout: VolumeLayout,
  state: GuestState,
  now: number,
  times: GuestTime[],
): void {
  for (const { fs, part } of signatures(layout)) {
    const ref = () => volumeRef(fs, part, layout);
    const at = part === null ? 0 : part.start;
    const id = `${at}:${fs.type}:${fs.uuid ?? ""}`;
    if (fs.type === "crypto_LUKS" || fs.type === "BitLocker")
      c.add(`enc:${id}`, label, () => ({
        code: "QCOW2-GUEST-ENCRYPTED-VOLUME",
        volume: ref(),
        version: fs.version,
        headerOffset: at + (fs.details.superblockOffset ?? 0),
      }));
    if (fs.type === "swsuspend") {
      const swap = fs.details.swap;
      c.add(`hib:${id}`, label, () => ({
        code: "QCOW2-GUEST-HIBERNATION",
        volume: ref(),
        signature: swap?.signature ?? fs.version ?? "",
        signatureOffset: at + (swap === undefined ? 0 : swap.pageSize - 10),
      }));
    }
    const unclean = fs.details.unclean ?? [];
    if (unclean.length > 0)
      c.add(`err:${id}:${unclean.join("|")}`, label, () => ({
        code: "QCOW2-GUEST-FS-ERRORS",
        volume: ref(),
        reasons: unclean,
        superblockOffset: fs.details.superblockOffset ?? 0,
      }));
    for (const [key, words, event] of TIME_FIELDS) {
      const t = fs.details[key];
      if (t === undefined) continue;
      times.push({ unixSecs: t, state: label, volume: describeVolume(ref()), event });
      const reason =
        t > now
          ? "future"
          : state.kind === "snapshot" && t > state.dateSec
            ? "after-snapshot"
            : null;
      if (reason === null) continue;
      c.add(`time:${id}:${key}:${t}:${reason}`, label, () => ({
        code: "QCOW2-GUEST-FS-TIME-ANOMALY",
        volume: ref(),
        field: words,
        time: t,
        reason,
        reference: reason === "future" ? now : (state as { dateSec: number }).dateSec,
        superblockOffset: fs.details.superblockOffset ?? 0,
      }));
    }
  }
  const problems = (codes: Set<string>) => layout.problems.filter((p) => codes.has(p.code));
  const key = (ps: VolumeProblem[]) => ps.map((p) => `${p.code}@${p.offset ?? ""}`).join(",");
  const gpt = problems(GPT_DAMAGE);
  if (gpt.length > 0)
    c.add(`gpt:${key(gpt)}`, label, () => ({
      code: "QCOW2-GUEST-GPT-DAMAGED",
      states: [],
      problems: gpt,
    }));
  const table = problems(TABLE_INCONSISTENCY);
  if (table.length > 0)
    c.add(`table:${key(table)}`, label, () => ({
      code: "QCOW2-GUEST-PARTITION-TABLE-INCONSISTENT",
      states: [],
      problems: table,
    }));
}

/**
 * Allocated bytes outside every partition and table structure, read (up to
 * a bound) to tell data from zeros. Only on a disk with a partition table:
 * a disk without one has nothing to be outside of.
 */
async function auditUnpartitioned(
  label: string,
  layout: VolumeLayout,
  disk: GuestDiskHandle,
): Promise<Qcow2Anomaly | null> {
  if (layout.scheme === "none" || disk.allocated === undefined) return null;
  const allocated: Array<{ start: number; length: number }> = [];
  for await (const e of disk.allocated()) allocated.push(e);
  const list = unaccounted(layout, allocated);
  if (list.length === 0) return null;
  let scanned = 0;
  let nonZero = 0;
  let firstNonZero: number | null = null;
  for (const r of list) {
    if (scanned >= MAX_UNPARTITIONED_SCAN) break;
    const length = Math.min(r.length, SCAN_PER_RANGE, MAX_UNPARTITIONED_SCAN - scanned);
    const bytes = await disk.read(r.start, length);
    scanned += bytes.length;
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0) continue;
      nonZero++;
      firstNonZero ??= r.start + i;
    }
  }
  if (nonZero === 0) return null;
  return {
    code: "QCOW2-GUEST-UNPARTITIONED-DATA",
    state: label,
    bytes: list.reduce((n, r) => n + r.length, 0),
    ranges: list.slice(0, MAX_RANGES_CITED),
    rangeCount: list.length,
    scanned,
    nonZero,
    firstNonZero,
  };
}

/**
 * Looks inside the guest disk of every state `open` can open: the active
 * disk, the snapshots (the {@link MAX_GUEST_SNAPSHOTS} newest), and the backing
 * file when the image has one. Findings: encrypted volumes, hibernation
 * images, filesystems with errors or impossible times, damaged or
 * inconsistent tables, data outside the partitions (active disk), and the
 * changes of layout and boot code from each snapshot (and the backing file)
 * to the active disk. A state that cannot be opened is left out quietly.
 *
 * @example
 * ```ts
 * const { anomalies, times } = await auditGuest(qcow2GuestOpener(source), snapshots, { now: new Date() });
 * ```
 */
export async function auditGuest(
  open: GuestOpener,
  snapshots: readonly Qcow2Snapshot[],
  options: {
    now?: Date;
    backing?: string | null;
    fileSize?: number;
    /** The image's header and snapshot table, handed to `open` (see {@link GuestOpener}). */
    known?: KnownImage;
  } = {},
): Promise<GuestAudit> {
  const now = Math.floor((options.now ?? new Date()).getTime() / 1000);
  // A snapshot whose L1 table lies outside the file has no disk to read (the container audit
  // reports the table), and snapshots sharing one L1 table are one state: skipping them keeps a
  // hostile table from costing one open per entry.
  const readable = (s: Qcow2Snapshot) =>
    Number.isSafeInteger(s.l1TableOffset) &&
    (options.fileSize === undefined || s.l1TableOffset + s.l1Size * 8 <= options.fileSize);
  const seen = new Set<string>();
  const distinct = [...snapshots]
    .filter(readable)
    .sort((x, y) => y.dateSec - x.dateSec || y.index - x.index)
    .filter((s) => {
      const key = `${s.l1TableOffset}:${s.l1Size}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    })
    .slice(0, MAX_GUEST_SNAPSHOTS)
    .sort((x, y) => x.index - y.index);
  const wanted: GuestState[] = [
    { kind: "active" },
    ...distinct.map(
      (s): GuestState => ({
        kind: "snapshot",
        id: s.id,
        name: s.name,
        dateSec: s.dateSec,
      }),
    ),
    ...(options.backing == null ? [] : [{ kind: "backing", name: options.backing } as GuestState]),
  ];
  const collector = new Collector();
  const times: GuestTime[] = [];
  const states: GuestAudit["states"] = [];
  const extra: Qcow2Anomaly[] = [];
  for (const state of wanted) {
    const read = await readState(open, state, options.known);
    if (read === null) continue;
    const label = stateLabel(state);
    try {
      auditSignatures(collector, label, read.layout, state, now, times);
      if (state.kind === "active") {
        const hidden = await auditUnpartitioned(label, read.layout, read.disk).catch((e) => {
          if (isVolumesError(e) || (e instanceof Error && e.name === "Qcow2Error")) return null;
          throw e;
        });
        if (hidden !== null) extra.push(hidden);
      }
      states.push({ state, label, layout: read.layout });
    } finally {
      await read.disk.close().catch(() => undefined);
    }
  }
  const active = states.find((s) => s.state.kind === "active");
  if (active !== undefined)
    for (const earlier of states) {
      if (earlier === active) continue;
      const changes = compareLayouts(earlier.layout, active.layout);
      if (changes.length > 0)
        extra.push({
          code: "QCOW2-GUEST-PARTITION-TABLE-CHANGED",
          from: earlier.label,
          to: active.label,
          changes,
        });
      const code = compareBootCode(earlier.layout, active.layout);
      if (code.length > 0)
        extra.push({
          code: "QCOW2-GUEST-BOOT-CODE-CHANGED",
          from: earlier.label,
          to: active.label,
          changes: code,
        });
    }
  return { anomalies: [...collector.values(), ...extra], times, states };
}
