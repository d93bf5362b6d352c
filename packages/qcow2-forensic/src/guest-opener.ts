import {
  type ByteSource,
  inspect,
  type OpenImageOptions,
  Qcow2Image,
  type Qcow2Info,
  readSafely,
  readSnapshots,
  type SnapshotTable,
  walkBackingChain,
} from "@x/qcow2-core";
import type { GuestDisk } from "@x/volumes";

/** A guest disk state the audit looks inside. */
export type GuestState =
  | { kind: "active" }
  | {
      kind: "snapshot";
      id: string;
      name: string;
      dateSec: number;
    }
  /** The disk as the image's backing file holds it (the overlay's writes left out). */
  | { kind: "backing"; name: string };

/** How a state is named in notes and evidence. */
export function stateLabel(state: GuestState): string {
  switch (state.kind) {
    case "active":
      return "active disk";
    case "snapshot":
      return `snapshot ${state.id} ${JSON.stringify(state.name)}`;
    case "backing":
      return `backing file ${JSON.stringify(state.name)}`;
  }
}

/** An open guest disk: readable, with its allocated extents when the container knows them. */
export interface GuestDiskHandle extends GuestDisk {
  /** The extents that hold data (allocated, not zero), in guest order. */
  allocated?(): AsyncIterable<{ start: number; length: number }>;
  close(): Promise<void>;
}

/** The audited image's header and snapshot table, as `inspect` and `readSnapshots` answered. */
export interface KnownImage {
  info: Qcow2Info;
  snapshots: SnapshotTable;
}

/**
 * Opens the guest disk of the audited image as of a state, or answers
 * `null` (or throws) when it cannot: a missing backing file, a missing
 * passphrase. The audit then leaves that state out. `known`, when given,
 * is the audited image's header and snapshot table read from the same
 * source (the audit has them): an opener need not read them again.
 */
export type GuestOpener = (
  state: GuestState,
  known?: KnownImage,
) => Promise<GuestDiskHandle | null>;

/** The source, without `close`: the caller of the audit owns it, not the images opened over it. */
function borrowed(source: ByteSource): ByteSource {
  return {
    name: source.name,
    size: source.size,
    read: (p, l) => source.read(p, l),
    ...(source.readInto === undefined
      ? {}
      : { readInto: (t, p) => (source.readInto as NonNullable<ByteSource["readInto"]>)(t, p) }),
    ...(source.readIntoSync === undefined
      ? {}
      : {
          readIntoSync: (t, p) =>
            (source.readIntoSync as NonNullable<ByteSource["readIntoSync"]>)(t, p),
        }),
  };
}

function imageHandle(image: Qcow2Image): GuestDiskHandle {
  return {
    size: image.size,
    read: (offset, length) => image.read(offset, length),
    async *allocated() {
      for await (const e of image.mapExtents())
        if (e.data && !e.zero) yield { start: e.start, length: e.length };
    },
    close: () => image.close(),
  };
}

/**
 * A {@link GuestOpener} over the audited image's source (browser-safe):
 * each state is a `Qcow2Image` opened with `options` (resolvers, unlock,
 * decompressors); the backing state opens the first backing file with its
 * own chain. The source itself is never closed by it.
 *
 * @example
 * ```ts
 * const anomalies = await auditImage(source, { resolveBacking, guest: qcow2GuestOpener(source, { resolveBacking }) });
 * ```
 */
export function qcow2GuestOpener(source: ByteSource, options: OpenImageOptions = {}): GuestOpener {
  // The header and snapshot table, read once for every state opened (an image of thousands of
  // snapshots would otherwise decode its table once per state).
  let read: Promise<KnownImage | undefined> | undefined;
  return async (state, known) => {
    if (state.kind !== "backing") {
      // Unreadable: each open then fails as it always did, with its own error.
      read ??=
        known === undefined
          ? (async () => {
              const info = await inspect(source);
              return { info, snapshots: await readSnapshots(source, info) };
            })().catch(() => undefined)
          : undefined;
      const facts = known ?? (await read);
      const image = await Qcow2Image.open(borrowed(source), {
        ...options,
        ...(facts === undefined ? {} : { known: facts }),
        ...(state.kind === "snapshot" ? { snapshot: state.id } : {}),
      });
      return imageHandle(image);
    }
    if (options.resolveBacking === undefined) return null;
    const info = await inspect(source);
    const walk = await walkBackingChain(info, source.name, options.resolveBacking, 1);
    const [link, ...rest] = walk.links;
    for (const other of rest) await other.source.close?.();
    if (link === undefined) return null;
    if (link.format === "raw") {
      const raw = link.source;
      return {
        size: raw.size,
        read: (offset, length) => readSafely(raw, offset, length),
        close: async () => {
          await raw.close?.();
        },
      };
    }
    try {
      return imageHandle(await Qcow2Image.open(link.source, options));
    } catch (e) {
      await link.source.close?.();
      throw e;
    }
  };
}
