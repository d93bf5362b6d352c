/** Node-only entry: audit an image file by path (opened read-only). */
import { type ByteSource, isQcow2Error, type Qcow2Info } from "@x/qcow2-core";
import {
  fileBackingResolver,
  fileDataFileResolver,
  openFileSource,
  passphraseUnlock,
  type SectorCipher,
  zlibDecompressor,
  zstdWorkers,
} from "@x/qcow2-core/node";
import type { Qcow2Anomaly } from "./anomaly.js";
import { type AuditOptions, auditImage } from "./audit-image.js";
import { qcow2GuestOpener } from "./guest-opener.js";

/** {@link AuditOptions} plus where to look for backing files and how to unlock encrypted ones. */
export interface AuditPathOptions extends AuditOptions {
  /** Look for backing files only in this folder (see `fileBackingResolver`). */
  backingDir?: string;
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
 * Audits the image at `path` in one pass (the seed's `audit_path`, extended):
 * header, snapshots, bitmaps, LUKS, the backing chain resolved next to the
 * image (or in `backingDir`), and the consistency check. Throws a
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
  const source = await openFileSource(path);
  const resolveBacking = fileBackingResolver(
    options.backingDir === undefined ? {} : { backingDir: options.backingDir },
  );
  const passphrases = options.passphrases ?? [];
  try {
    return await auditImage(source, {
      resolveBacking,
      guest: qcow2GuestOpener(source, {
        decompressor: zlibDecompressor,
        zstd: zstdWorkers,
        resolveBacking,
        resolveDataFile: fileDataFileResolver,
        ...(passphrases.length === 0 ? {} : { unlock: unlockWithAny(passphrases) }),
      }),
      ...options,
    });
  } finally {
    await source.close();
  }
}
