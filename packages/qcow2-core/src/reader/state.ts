import { Qcow2Error } from "../errors.js";
import type { Qcow2Info } from "../inspect.js";
import type { Qcow2Snapshot } from "../snapshots.js";
import type { ByteSource } from "../source/byte-source.js";
import { sourceIdentity } from "../source/identity.js";
import { fflateDecompressor, fzstdDecompressor } from "./decompress.js";
import type { L2Geometry } from "./l2-storage.js";
import type { GuestRange, Layer, LayerExtent, LayerIdentity, LayerStorage } from "./layer.js";
import { assertReadable } from "./open-checks.js";
import { Qcow1Layer } from "./qcow1-layer.js";
import { hasExternalDataFile, Qcow2Layer } from "./qcow2-layer.js";
import type { MappingEntries } from "./shared-tables.js";

/**
 * A state of the evidence: a guest disk the reader can show (SPEC §10). A
 * second image is a state too: its active disk.
 */
export type StateRef =
  | { kind: "active" }
  /** An internal snapshot, matched by id first, then by name (as `qemu-img convert -l`). */
  | { kind: "snapshot"; snapshot: string }
  /** The disk as the `depth`-th backing file down sees it, with everything under it (1 = the backing file). */
  | { kind: "backing"; depth: number };

/**
 * Parses `active`, `snapshot:<id or name>` or `backing:<N>` (N ≥ 1);
 * `undefined` for anything else.
 *
 * @example
 * ```ts
 * parseStateRef("snapshot:before-update"); // { kind: "snapshot", snapshot: "before-update" }
 * ```
 */
export function parseStateRef(text: string): StateRef | undefined {
  if (text === "active") return { kind: "active" };
  if (text.startsWith("snapshot:") && text.length > "snapshot:".length)
    return { kind: "snapshot", snapshot: text.slice("snapshot:".length) };
  const backing = /^backing:([1-9][0-9]{0,3})$/.exec(text);
  if (backing) return { kind: "backing", depth: Number(backing[1]) };
  return undefined;
}

/** The text form {@link parseStateRef} reads. */
export function formatStateRef(ref: StateRef): string {
  if (ref.kind === "active") return "active";
  return ref.kind === "snapshot" ? `snapshot:${ref.snapshot}` : `backing:${ref.depth}`;
}

/**
 * A guest disk as a chain of layers, top first: what `diff` compares. A
 * {@link Qcow2Image} is one; {@link backingView} gives the others.
 */
export interface DiskView {
  readonly layers: readonly Layer[];
  readonly virtualSize: number;
}

/**
 * The disk as the `depth`-th backing file of `view` sees it: that file with
 * everything under it, at its own virtual size.
 *
 * @example
 * ```ts
 * const base = backingView(image, 1); // what the overlay's backing file holds
 * ```
 */
export function backingView(view: DiskView, depth: number): DiskView {
  const top = view.layers[depth];
  if (!Number.isSafeInteger(depth) || depth < 0 || top === undefined) {
    throw new Qcow2Error(
      "BACKING_NOT_FOUND",
      `the chain has ${view.layers.length - 1} backing file(s); backing:${depth} does not exist`,
      { field: "backing_file", value: depth },
    );
  }
  return { layers: view.layers.slice(depth), virtualSize: top.virtualSize };
}

/**
 * The most recent snapshot by creation time (the later table entry on a
 * tie), among the entries that lie in the file.
 */
export function newestSnapshot(snapshots: readonly Qcow2Snapshot[]): Qcow2Snapshot | undefined {
  let newest: Qcow2Snapshot | undefined;
  for (const s of snapshots) {
    if (s.pastEof !== "none") continue;
    if (
      newest === undefined ||
      s.dateSec > newest.dateSec ||
      (s.dateSec === newest.dateSec && s.dateNsec >= newest.dateNsec)
    )
      newest = s;
  }
  return newest;
}

/**
 * What `diff` compares the active disk with when not told: the backing file
 * when there is one, else the newest snapshot; `undefined` when neither exists.
 */
export function defaultFromState(
  info: Qcow2Info,
  snapshots: readonly Qcow2Snapshot[],
): StateRef | undefined {
  if (info.backingFile !== null) return { kind: "backing", depth: 1 };
  const newest = newestSnapshot(snapshots);
  return newest === undefined ? undefined : { kind: "snapshot", snapshot: newest.id };
}

/** Options of {@link metadataView}. */
export interface MetadataViewOptions {
  /**
   * Another metadata view of the same source: the new view reads its L2
   * tables through the same cache (snapshots share most tables with each
   * other and with the active disk), so each table is read once.
   */
  shareTablesWith?: DiskView;
}

/**
 * A view of one image's state from its own metadata alone: no passphrase,
 * no backing file, no external data file opened. What the backing file
 * would supply is an opaque layer that differs from everything but itself,
 * so a metadata-only diff of two such views is still a superset of the
 * exact one. Guest data cannot be read through it (typed error).
 *
 * @example
 * ```ts
 * const before = await metadataView(source, info, snapshot);
 * const now = await metadataView(source, info, null);
 * for await (const e of diffExtents(before, now, { metadataOnly: true })) count++;
 * ```
 */
export async function metadataView(
  source: ByteSource,
  info: Qcow2Info,
  snapshot: Qcow2Snapshot | null,
  options: MetadataViewOptions = {},
): Promise<DiskView> {
  assertReadable(info, { decrypting: true });
  const other = options.shareTablesWith?.layers[0];
  const shared =
    other instanceof MetadataOnlyLayer && other.inner instanceof Qcow2Layer
      ? other.inner
      : undefined;
  let top: Layer;
  if (info.version === 1) {
    top = await Qcow1Layer.open(source, info, fflateDecompressor, null);
  } else {
    const name = info.externalDataFile ?? "external data file";
    top = await Qcow2Layer.open(source, info, {
      snapshot,
      dataSource: hasExternalDataFile(info) ? opaqueSource(`${name}`, source, "data") : null,
      deflate: fflateDecompressor,
      zstd: fzstdDecompressor,
      cipher: null,
      // No guest data is read through this view: every use of a table ends before the next read.
      recycleTables: true,
      ...(shared === undefined ? {} : { shareTablesWith: shared }),
    });
  }
  const layers: Layer[] = [new MetadataOnlyLayer(top)];
  if (info.backingFile !== null)
    layers.push(new OpaqueLayer(info.backingFile.name ?? "backing file", source, top.virtualSize));
  return { layers, virtualSize: top.virtualSize };
}

/** A stand-in for a file that is not opened: it has an identity and a name, and no bytes. */
function opaqueSource(name: string, owner: ByteSource, role: string): ByteSource {
  return {
    name,
    size: 0,
    identity: `${role}-of:${sourceIdentity(owner)}`,
    async read(): Promise<Uint8Array> {
      throw notRead(name);
    },
  };
}

function notRead(name: string): Qcow2Error {
  return new Qcow2Error(
    "UNSUPPORTED_FEATURE",
    `metadata-only view: guest data of ${name} is not read`,
    { file: name },
  );
}

/** A layer whose mapping is known but whose bytes are never read (no key, no data file). */
class MetadataOnlyLayer implements Layer {
  readonly name: string;
  readonly format: Layer["format"];
  readonly virtualSize: number;
  readonly identity: LayerIdentity;
  readonly granularity: number;
  readonly mappingTableSpan?: number;
  readonly l2Geometry?: L2Geometry;

  constructor(readonly inner: Layer) {
    this.name = inner.name;
    this.format = inner.format;
    this.virtualSize = inner.virtualSize;
    this.identity = inner.identity;
    this.granularity = inner.granularity;
    if (inner.mappingTableSpan !== undefined) this.mappingTableSpan = inner.mappingTableSpan;
    if (inner.l2Geometry !== undefined) this.l2Geometry = inner.l2Geometry;
  }

  storage(offset: number, maxLength: number): Promise<LayerStorage> {
    return this.inner.storage(offset, maxLength);
  }

  storageSync(offset: number, maxLength: number): LayerStorage | undefined {
    return this.inner.storageSync?.(offset, maxLength);
  }

  mappingTableAt(offset: number): number {
    return this.inner.mappingTableAt?.(offset) ?? -1;
  }

  mappingEntriesSync(offset: number): MappingEntries | undefined {
    return this.inner.mappingEntriesSync?.(offset);
  }

  async mappingEntries(offset: number): Promise<MappingEntries | undefined> {
    return this.inner.mappingEntries?.(offset);
  }

  status(offset: number, maxLength: number): Promise<LayerExtent> {
    return this.inner.status(offset, maxLength);
  }

  async readOwn(): Promise<GuestRange[]> {
    throw notRead(this.name);
  }

  /** The caller owns the source the view was made from: nothing to close here. */
  async close(): Promise<void> {}
}

/** What an unopened backing file supplies: data everywhere, equal only to itself. */
class OpaqueLayer implements Layer {
  readonly format = "raw" as const;
  readonly identity: LayerIdentity;
  readonly granularity = 512;
  private readonly source: ByteSource;

  constructor(
    readonly name: string,
    owner: ByteSource,
    readonly virtualSize: number,
  ) {
    this.source = opaqueSource(name, owner, "backing");
    this.identity = { file: sourceIdentity(this.source), view: "opaque" };
  }

  async storage(offset: number, maxLength: number): Promise<LayerStorage> {
    return this.storageSync(offset, maxLength);
  }

  storageSync(offset: number, maxLength: number): LayerStorage {
    const length = Math.max(1, Math.min(maxLength, this.virtualSize - offset));
    return { length, kind: "data", source: this.source, offset };
  }

  async status(offset: number, maxLength: number): Promise<LayerExtent> {
    const length = Math.max(1, Math.min(maxLength, this.virtualSize - offset));
    return { length, data: true, zero: false };
  }

  async readOwn(): Promise<GuestRange[]> {
    throw notRead(this.name);
  }

  async close(): Promise<void> {}
}
