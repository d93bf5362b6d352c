import type { Layer, LayerExtent } from "./layer.js";

/**
 * One guest extent, as `qemu-img map --output=json` prints it: `depth` is
 * the chain layer that answers, `present` whether that layer allocates it.
 */
export interface MapExtent {
  start: number;
  length: number;
  depth: number;
  present: boolean;
  zero: boolean;
  data: boolean;
  /** Host offset, when QEMU reports one (not for compressed or encrypted data). */
  offset?: number;
  /** The file `offset` refers to (qemu-img uses it to merge, and prints it in human mode). */
  file?: string;
  /** Stored compressed (qemu-img 7.2 does not print this; kept for our own views). */
  compressed?: boolean;
}

/** QEMU's get_block_status in qemu-img: walk down the chain until a layer answers. */
async function blockStatus(
  layers: readonly Layer[],
  offset: number,
  bytes: number,
): Promise<MapExtent> {
  let n = bytes;
  for (let depth = 0; ; depth++) {
    const layer = layers[depth] as Layer;
    const st: LayerExtent = layer.statusSync?.(offset, n) ?? (await layer.status(offset, n));
    n = st.length;
    const below = layers[depth + 1];
    if (st.data || st.zero) return extent(offset, n, depth, true, st.zero, st.data, st);
    // Unallocated with nothing (or nothing at this offset) below: zeros, not present.
    if (below === undefined || offset >= below.virtualSize)
      return extent(offset, n, depth, false, true, false, st);
  }
}

/** {@link blockStatus} when every layer it consults can answer without a read; else `undefined`. */
function blockStatusSync(
  layers: readonly Layer[],
  offset: number,
  bytes: number,
): MapExtent | undefined {
  let n = bytes;
  for (let depth = 0; ; depth++) {
    const st = (layers[depth] as Layer).statusSync?.(offset, n);
    if (st === undefined) return undefined;
    n = st.length;
    const below = layers[depth + 1];
    if (st.data || st.zero) return extent(offset, n, depth, true, st.zero, st.data, st);
    if (below === undefined || offset >= below.virtualSize)
      return extent(offset, n, depth, false, true, false, st);
  }
}

function extent(
  start: number,
  length: number,
  depth: number,
  present: boolean,
  zero: boolean,
  data: boolean,
  st: LayerExtent,
): MapExtent {
  const e: MapExtent = { start, length, depth, present, zero, data };
  if (st.offset !== undefined) {
    e.offset = st.offset;
    if (st.file !== undefined) e.file = st.file;
  }
  if (st.compressed) e.compressed = true;
  return e;
}

/** qemu-img's entry_mergeable. */
function mergeable(curr: MapExtent, next: MapExtent): boolean {
  if (
    curr.zero !== next.zero ||
    curr.data !== next.data ||
    curr.depth !== next.depth ||
    curr.present !== next.present ||
    (curr.offset === undefined) !== (next.offset === undefined) ||
    curr.file !== next.file ||
    Boolean(curr.compressed) !== Boolean(next.compressed)
  ) {
    return false;
  }
  return curr.offset === undefined || curr.offset + curr.length === next.offset;
}

/**
 * The extents of a chain's whole virtual disk, merged as qemu-img merges
 * them, yielded as they are found (constant memory whatever the disk size).
 */
/**
 * Calls `onExtent` for each merged extent of a chain's virtual disk, in
 * order, as it is found (constant memory). `onExtent` may return a promise
 * (e.g. to wait for an output to drain).
 */
export async function mapLayersEach(
  layers: readonly Layer[],
  virtualSize: number,
  onExtent: (e: MapExtent) => void | Promise<void>,
): Promise<void> {
  let curr: MapExtent | undefined;
  let offset = 0;
  while (offset < virtualSize) {
    const next =
      blockStatusSync(layers, offset, virtualSize - offset) ??
      (await blockStatus(layers, offset, virtualSize - offset));
    if (curr !== undefined && mergeable(curr, next)) {
      curr.length += next.length;
    } else {
      if (curr !== undefined) {
        // Await only when the callback asks to (e.g. output back-pressure).
        const pending = onExtent(curr);
        if (pending !== undefined) await pending;
      }
      curr = next;
    }
    offset += next.length;
  }
  if (curr !== undefined) await onExtent(curr);
}

export async function* mapLayersIter(
  layers: readonly Layer[],
  virtualSize: number,
): AsyncGenerator<MapExtent> {
  let curr: MapExtent | undefined;
  let offset = 0;
  while (offset < virtualSize) {
    const next = await blockStatus(layers, offset, virtualSize - offset);
    if (curr !== undefined && mergeable(curr, next)) {
      curr.length += next.length;
    } else {
      if (curr !== undefined) yield curr;
      curr = next;
    }
    offset += next.length;
  }
  if (curr !== undefined) yield curr;
}

/** Maps the whole virtual disk of a chain. */
export async function mapLayers(
  layers: readonly Layer[],
  virtualSize: number,
): Promise<MapExtent[]> {
  const out: MapExtent[] = [];
  for await (const e of mapLayersIter(layers, virtualSize)) out.push(e);
  return out;
}
