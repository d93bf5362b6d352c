/** Node-only entry: audit an image file by path or URL (opened read-only). */
import {
  type ByteSource,
  type HttpSourceOptions,
  isQcow2Error,
  type Qcow2Info,
} from "@x/qcow2-core";
import {
  evidenceResolvers,
  openEvidenceSource,
  openImage,
  passphraseUnlock,
  type SectorCipher,
  zlibDecompressor,
  zstdWorkers,
} from "@x/qcow2-core/node";
import type { Figure } from "@x/report";
import type { Qcow2Anomaly } from "./anomaly.js";
import { type AuditOptions, auditImage, examineImage } from "./audit-image.js";
import { type GuestOpener, qcow2GuestOpener } from "./guest-opener.js";
import {
  custodyFacts,
  DEFAULT_MAP_CELLS,
  drawPictures,
  type PictureOptions,
  type StateOpener,
} from "./pictures/draw.js";

/** {@link AuditOptions} plus where to look for backing files. */
export interface AuditPathOptions extends AuditOptions {
  /** Look for backing files only in this folder (see `fileBackingResolver`). */
  backingDir?: string;
  /** How images given as `http(s)://` URLs are fetched (headers, timeouts, …). */
  http?: HttpSourceOptions;
  /**
   * Passphrases to try on encrypted images when looking inside the guest
   * (each image takes the first that unlocks it); without one, an encrypted
   * image's guest is left out.
   */
  passphrases?: readonly Uint8Array[];
}

/**
 * Unlocks with the first passphrase that works, once per file: every state
 * of one image (active, snapshots) shares the key, and PBKDF2 is slow.
 */
function unlockWithAny(
  passphrases: readonly Uint8Array[],
): (source: ByteSource, info: Qcow2Info) => Promise<SectorCipher> {
  const unlocked = new Map<string, Promise<SectorCipher>>();
  return (source, info) => {
    let found = unlocked.get(source.name);
    if (found === undefined) {
      found = (async () => {
        let last: unknown;
        for (const p of passphrases) {
          try {
            return await passphraseUnlock(p)(source, info);
          } catch (e) {
            if (!isQcow2Error(e) || e.code !== "BAD_PASSPHRASE") throw e;
            last = e;
          }
        }
        throw last;
      })();
      unlocked.set(source.name, found);
    }
    return found;
  };
}

/**
 * Opens the guest disk of each state of the image at `path` (a file or a URL)
 * whose top file the caller has opened as `source`: backing files found as
 * `auditPath` finds them, encrypted images unlocked with `passphrases`. For
 * callers that audit an already opened source (`auditImage(source, { guest })`).
 *
 * @example
 * ```ts
 * const source = await openEvidenceSource(path);
 * await auditImage(source, { guest: evidenceGuestOpener(source, path) });
 * ```
 */
export function evidenceGuestOpener(
  source: ByteSource,
  path: string,
  options: Pick<AuditPathOptions, "backingDir" | "http" | "passphrases"> = {},
): GuestOpener {
  const passphrases = options.passphrases ?? [];
  return qcow2GuestOpener(source, {
    decompressor: zlibDecompressor,
    zstd: zstdWorkers,
    ...evidenceResolvers(path, options),
    ...(passphrases.length === 0 ? {} : { unlock: unlockWithAny(passphrases) }),
  });
}

/**
 * Audits the image at `path` (a file, or an `http(s)://` URL read with Range
 * requests) in one pass (the seed's `audit_path`, extended):
 * header, snapshots, bitmaps, LUKS, the backing chain resolved next to the
 * image (or in `backingDir`), the consistency check, and (unless `quick`)
 * the guest's volumes in every state it can open. Throws a
 * `Qcow2Error` for unreadable or malformed input. Sorted by severity.
 *
 * @example
 * ```ts
 * import { auditPath } from "@x/qcow2-forensic/node";
 * import { toFindings } from "@x/qcow2-forensic";
 * const findings = toFindings(await auditPath("disk.qcow2"));
 * ```
 */
export async function auditPath(
  path: string,
  options: AuditPathOptions = {},
): Promise<Qcow2Anomaly[]> {
  const source = await openEvidenceSource(path, options);
  try {
    return await auditImage(source, {
      resolveBacking: evidenceResolvers(path, options).resolveBacking,
      guest: evidenceGuestOpener(source, path, options),
      ...options,
    });
  } finally {
    await source.close();
  }
}

/** {@link AuditPathOptions} plus how to draw (see `drawPictures`). */
export interface PicturedAuditOptions extends AuditPathOptions, PictureOptions {}

/** Findings and pictures of one image, as plain data (they cross worker threads). */
export interface PicturedAudit {
  anomalies: Qcow2Anomaly[];
  figures: Figure[];
  /** File size, format, virtual and cluster size, for a report's custody table. */
  facts: Array<{ label: string; value: string }>;
}

/**
 * {@link auditPath} with the image's pictures: the host-file map from the
 * same consistency check (one pass), the guest maps of the active state and
 * of the snapshots, the backing chain, the snapshot timeline. Guest maps open
 * the image read-only through `openState` (default: `openImage` with
 * `backingDir` and `http`, no passphrase); `quick` draws no map.
 *
 * @example
 * ```ts
 * import { auditPathWithPictures } from "@x/qcow2-forensic/node";
 * const { anomalies, figures } = await auditPathWithPictures("disk.qcow2");
 * ```
 */
export async function auditPathWithPictures(
  path: string,
  options: PicturedAuditOptions = {},
): Promise<PicturedAudit> {
  const source = await openEvidenceSource(path, options);
  try {
    return await auditSourceWithPictures(source, path, options);
  } finally {
    await source.close();
  }
}

/**
 * {@link auditPathWithPictures} over an already opened `source` (the caller
 * closes it); `path` names the image for backing files and guest maps.
 */
export async function auditSourceWithPictures(
  source: ByteSource,
  path: string,
  options: PicturedAuditOptions = {},
): Promise<PicturedAudit> {
  const cells = options.cells ?? DEFAULT_MAP_CELLS;
  const exam = await examineImage(source, {
    resolveBacking: evidenceResolvers(path, options).resolveBacking,
    guest: evidenceGuestOpener(source, path, options),
    ...options,
    ...(options.quick ? {} : { census: { cells } }),
  });
  const base = {
    ...(options.backingDir === undefined ? {} : { backingDir: options.backingDir }),
    ...(options.http === undefined ? {} : { http: options.http }),
  };
  const openState: StateOpener =
    options.openState ??
    (({ snapshot, layerOnly }) =>
      openImage(path, {
        ...base,
        ...(layerOnly ? { layerOnly: true } : {}),
        ...(snapshot === null ? {} : { snapshot: snapshot.id }),
      }));
  const drawing: PictureOptions = { cells };
  if (options.maxSnapshotMaps !== undefined) drawing.maxSnapshotMaps = options.maxSnapshotMaps;
  if (options.now !== undefined) drawing.now = options.now;
  if (!options.quick) drawing.openState = openState;
  const figures = await drawPictures(exam, drawing);
  if (options.quick)
    figures.splice(1, 0, {
      kind: "note",
      title: "Guest maps",
      text: "not drawn — a quick audit reads no mapping tables.",
    });
  return { anomalies: exam.anomalies, figures, facts: custodyFacts(exam) };
}
