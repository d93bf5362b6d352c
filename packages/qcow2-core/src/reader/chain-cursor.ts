import { sourceIdentity } from "../source/identity.js";
import type { Layer, LayerStorage } from "./layer.js";
import type { DiskView } from "./state.js";

/** How one side of a diff stores a guest range. */
export interface DiffStorage {
  /**
   * `unallocated`: no layer of the chain stores it (reads as zeros);
   * `zero`: a zero cluster; `data`; `compressed`; `beyond-end`: past the
   * end of this side's (shorter) disk, compared as zeros as
   * `qemu-img compare` does.
   */
  kind: "unallocated" | "zero" | "data" | "compressed" | "beyond-end";
  /** The chain layer that supplies the range (0 = the state's own image). */
  depth?: number;
  /** The file holding the bytes (data; an external data file when the image has one), or the layer's image. */
  file?: string;
  /** data: host offset of the extent's first byte; compressed: of the compressed cluster holding it. */
  offset?: number;
  /** compressed: bytes of the compressed cluster's stream. */
  compressedLength?: number;
  /** The host bytes are ciphertext. */
  encrypted?: boolean;
}

/** One side's answer for a guest range: which layer supplies it, and how. */
export interface Resolved {
  start: number;
  end: number;
  kind: DiffStorage["kind"];
  /** Reads as zeros without a read (zero, unallocated, beyond the end). */
  zero: boolean;
  depth: number;
  layer?: Layer;
  storage?: LayerStorage;
  /** Identity of the file holding data or compressed bytes. */
  fileId?: string;
}

/**
 * Walks one state's chain in guest order, answering which layer supplies each
 * guest range and how, and remembering each layer's last answer.
 */
export class ChainCursor {
  private current: Resolved | undefined;
  private readonly cache: Array<{ start: number; storage: LayerStorage } | undefined> = [];

  constructor(
    readonly view: DiskView,
    private readonly size: number,
  ) {}

  /** The answer at `pos` when no read is needed (most steps); `undefined` otherwise. */
  atSync(pos: number): Resolved | undefined {
    const c = this.current;
    if (c !== undefined && c.start <= pos && pos < c.end) return c;
    const r = this.resolve(pos, (depth, layer) => this.cached(depth, layer, pos, true));
    if (r !== undefined) this.current = r as Resolved;
    return r as Resolved | undefined;
  }

  async at(pos: number): Promise<Resolved> {
    const known = this.atSync(pos);
    if (known !== undefined) return known;
    // Walk again, waiting for the layers that must read a table.
    const storages: LayerStorage[] = [];
    for (let depth = 0; ; depth++) {
      const layer = this.view.layers[depth] as Layer;
      const storage = this.cached(depth, layer, pos, true) ?? (await this.fetch(depth, layer, pos));
      storages.push(storage);
      const r = this.resolve(pos, (d) => storages[d]);
      if (r !== undefined) {
        this.current = r;
        return r;
      }
    }
  }

  /**
   * Walks the chain from the top with `storageOf` answering for each layer;
   * `undefined` as soon as one cannot answer.
   */
  private resolve(
    pos: number,
    storageOf: (depth: number, layer: Layer) => LayerStorage | undefined,
  ): Resolved | undefined {
    const layers = this.view.layers;
    if (pos >= this.view.virtualSize)
      return { start: pos, end: this.size, kind: "beyond-end", zero: true, depth: -1 };
    let limit = this.view.virtualSize;
    for (let depth = 0; ; depth++) {
      const layer = layers[depth] as Layer;
      const storage = storageOf(depth, layer);
      if (storage === undefined) return undefined;
      const end = Math.min(limit, pos + storage.length);
      if (storage.kind !== "unallocated") {
        const r: Resolved = {
          start: pos,
          end,
          kind: storage.kind,
          zero: storage.kind === "zero",
          depth,
          layer,
          storage,
        };
        if (storage.source !== undefined) r.fileId = sourceIdentity(storage.source);
        return r;
      }
      const below = layers[depth + 1];
      if (below === undefined || pos >= below.virtualSize)
        return { start: pos, end, kind: "unallocated", zero: true, depth: -1 };
      limit = Math.min(end, below.virtualSize);
    }
  }

  /**
   * The layer's storage from `pos` without a read: from its last answer, or
   * asked anew as far as the layer reaches and kept (the layers above may
   * need it in small pieces; asking per piece would rescan the same entries).
   */
  private cached(depth: number, layer: Layer, pos: number, ask: boolean): LayerStorage | undefined {
    const c = this.cache[depth];
    if (c !== undefined && c.start <= pos && pos < c.start + c.storage.length)
      return advance(c.storage, pos - c.start);
    if (!ask || layer.storageSync === undefined) return undefined;
    const storage = layer.storageSync(pos, layer.virtualSize - pos);
    if (storage !== undefined) this.cache[depth] = { start: pos, storage };
    return storage;
  }

  private async fetch(depth: number, layer: Layer, pos: number): Promise<LayerStorage> {
    const storage = await layer.storage(pos, layer.virtualSize - pos);
    this.cache[depth] = { start: pos, storage };
    return storage;
  }
}

/** `storage` as seen `delta` bytes further on. */
function advance(storage: LayerStorage, delta: number): LayerStorage {
  if (delta === 0) return storage;
  const length = storage.length - delta;
  // Most answers a walk advances through are holes: a plain literal, no spread.
  if (
    (storage.kind === "unallocated" || storage.kind === "zero") &&
    storage.source === undefined &&
    storage.encrypted === undefined
  )
    return { length, kind: storage.kind };
  const out = { ...storage, length };
  if (storage.kind === "data") out.offset = (storage.offset as number) + delta;
  else if (storage.kind === "compressed") out.inCluster = (storage.inCluster as number) + delta;
  return out;
}

/** How `r` stores the guest range from `at`, as the diff reports it. */
export function describeStorage(r: Resolved, at: number): DiffStorage {
  const out: DiffStorage = { kind: r.kind };
  if (r.layer === undefined) return out;
  out.depth = r.depth;
  const storage = r.storage as LayerStorage;
  out.file = storage.source?.name ?? r.layer.name;
  if (r.kind === "data") out.offset = (storage.offset as number) + (at - r.start);
  if (r.kind === "compressed") {
    out.offset = storage.offset as number;
    out.compressedLength = storage.compressedLength as number;
  }
  if (storage.encrypted) out.encrypted = true;
  return out;
}

/** Whether storage `n` continues `p` (which is `length` bytes long): same kind, layer and file, offsets contiguous. */
export function storageContinues(p: DiffStorage, n: DiffStorage, length: number): boolean {
  if (
    p.kind !== n.kind ||
    p.depth !== n.depth ||
    p.file !== n.file ||
    Boolean(p.encrypted) !== Boolean(n.encrypted)
  )
    return false;
  if (p.kind === "data") return (p.offset as number) + length === n.offset;
  if (p.kind === "compressed")
    return p.offset === n.offset && p.compressedLength === n.compressedLength;
  return true;
}
