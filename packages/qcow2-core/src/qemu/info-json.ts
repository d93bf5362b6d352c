import type { BitmapEntry } from "../format/bitmap-directory.js";
import {
  AUTOCLEAR_DATA_FILE_RAW,
  COMPAT_LAZY_REFCOUNTS,
  hasFeature,
  INCOMPAT_CORRUPT,
  INCOMPAT_DIRTY,
  INCOMPAT_EXTENDED_L2,
  INCOMPAT_EXTERNAL_DATA_FILE,
} from "../format/features.js";
import { describeLuksCipher } from "../format/luks.js";
import type { Qcow2Info } from "../inspect.js";
import type { LuksInfo } from "../luks-header.js";
import type { Qcow2Snapshot } from "../snapshots.js";
import { type QemuSnapshotInfo, toQemuSnapshotList } from "./snapshot-json.js";

/** `qemu-img info --output=json` for a QCOW image (QEMU 7.x key names). */
export interface QemuImgInfo {
  snapshots?: QemuSnapshotInfo[];
  "virtual-size": number;
  filename: string;
  "cluster-size"?: number;
  format: "qcow2" | "qcow";
  "actual-size"?: number;
  "format-specific"?: { type: "qcow2"; data: Record<string, unknown> };
  "full-backing-filename"?: string;
  "backing-filename"?: string;
  "backing-filename-format"?: string;
  encrypted?: boolean;
  "dirty-flag": boolean;
}

/** Inputs {@link toQemuImgInfo} needs beyond the header. */
export interface QemuInfoInputs {
  /** The path as the user gave it (QEMU resolves the backing name against it). */
  filename: string;
  /** Bytes allocated on the host filesystem, when known (QEMU's `actual-size`). */
  actualSize?: number;
  snapshots?: readonly Qcow2Snapshot[];
  bitmaps?: readonly BitmapEntry[];
  /** Whether the bitmap directory is consistent (autoclear bit set); QEMU omits bitmaps otherwise. */
  bitmapsConsistent?: boolean;
  /** The LUKS header, for the `encrypt` block of LUKS images. */
  luks?: LuksInfo | null;
}

/** The `encrypt` block QEMU prints for an encrypted image (no key needed). */
export function qemuEncryptBlock(
  info: Qcow2Info,
  luks: LuksInfo | null | undefined,
): Record<string, unknown> | undefined {
  if (info.encryptionMethod === 1) return { format: "aes" };
  const h = luks?.header;
  if (info.encryptionMethod !== 2 || h === null || h === undefined) return undefined;
  const c = describeLuksCipher(h);
  return {
    "ivgen-alg": c.ivgenAlg,
    ...(c.ivgenHashAlg === null ? {} : { "ivgen-hash-alg": c.ivgenHashAlg }),
    "hash-alg": h.hashSpec,
    "cipher-alg": c.cipherAlg,
    uuid: h.uuid,
    format: "luks",
    "cipher-mode": c.cipherMode,
    slots: h.keySlots.map((s) =>
      s.active
        ? {
            active: true,
            iters: s.iterations,
            "key-offset": s.keyMaterialSectors * 512,
            stripes: s.stripes,
          }
        : { active: false, "key-offset": s.keyMaterialSectors * 512 },
    ),
    "payload-offset": h.payloadSectors * 512,
    "master-key-iters": h.mkDigestIterations,
  };
}

/**
 * Joins a relative backing name to the image's folder as QEMU's
 * `path_combine` does: absolute names and names with a protocol prefix stay
 * as they are.
 */
export function combineBackingPath(imageFilename: string, backing: string): string {
  if (backing.startsWith("/") || /^[a-zA-Z0-9+.-]+:/.test(backing)) return backing;
  const slash = imageFilename.lastIndexOf("/");
  return slash < 0 ? backing : imageFilename.slice(0, slash + 1) + backing;
}

/**
 * Builds the object `qemu-img info --output=json` prints for this image,
 * key for key (the LUKS `encrypt` block aside).
 *
 * @example
 * ```ts
 * const json = toQemuImgInfo(info, { filename: "disk.qcow2", snapshots: table.snapshots });
 * ```
 */
export function toQemuImgInfo(info: Qcow2Info, inputs: QemuInfoInputs): QemuImgInfo {
  // Built in QEMU's key order so the text matches too, not only the parsed object.
  const ordered: Record<string, unknown> = {};
  if (inputs.snapshots !== undefined && inputs.snapshots.length > 0)
    ordered.snapshots = toQemuSnapshotList(inputs.snapshots);
  // bdrv_getlength: whole sectors.
  ordered["virtual-size"] = Math.floor(info.virtualSize / 512) * 512;
  ordered.filename = inputs.filename;
  if (info.clusterSize !== null) ordered["cluster-size"] = info.clusterSize;
  ordered.format = info.version === 1 ? "qcow" : "qcow2";
  if (inputs.actualSize !== undefined) ordered["actual-size"] = inputs.actualSize;
  if (info.version >= 2)
    ordered["format-specific"] = { type: "qcow2", data: formatSpecific(info, inputs) };
  const backing = info.backingFile?.name;
  if (backing !== undefined && backing !== null) {
    ordered["full-backing-filename"] = combineBackingPath(inputs.filename, backing);
    ordered["backing-filename"] = backing;
    if (info.backingFormat !== null) ordered["backing-filename-format"] = info.backingFormat;
  }
  if (info.encryptionMethod !== 0) ordered.encrypted = true;
  ordered["dirty-flag"] = hasFeature(info.incompatibleFeatures, INCOMPAT_DIRTY);
  return ordered as unknown as QemuImgInfo;
}

function formatSpecific(info: Qcow2Info, inputs: QemuInfoInputs): Record<string, unknown> {
  const compression =
    info.compressionTypeName === "unknown"
      ? String(info.compressionType)
      : info.compressionTypeName;
  if (info.version === 2) {
    const v2: Record<string, unknown> = {
      compat: "0.10",
      "compression-type": compression,
      "refcount-bits": info.refcountBits,
    };
    const encrypt = qemuEncryptBlock(info, inputs.luks);
    if (encrypt !== undefined) v2.encrypt = encrypt;
    return v2;
  }
  const data: Record<string, unknown> = {
    compat: "1.1",
    "compression-type": compression,
    "lazy-refcounts": hasFeature(info.compatibleFeatures, COMPAT_LAZY_REFCOUNTS),
  };
  const bitmaps = inputs.bitmapsConsistent === false ? [] : (inputs.bitmaps ?? []);
  if (bitmaps.length > 0) {
    data.bitmaps = bitmaps.map((b) => ({
      flags: [...(b.inUse ? ["in-use"] : []), ...(b.auto ? ["auto"] : [])],
      name: b.name,
      granularity: b.granularity,
    }));
  }
  data["refcount-bits"] = info.refcountBits;
  const encrypt = qemuEncryptBlock(info, inputs.luks);
  if (encrypt !== undefined) data.encrypt = encrypt;
  const hasDataFile = hasFeature(info.incompatibleFeatures, INCOMPAT_EXTERNAL_DATA_FILE);
  if (info.externalDataFile !== null) data["data-file"] = info.externalDataFile;
  if (hasDataFile)
    data["data-file-raw"] = hasFeature(info.autoclearFeatures, AUTOCLEAR_DATA_FILE_RAW);
  data.corrupt = hasFeature(info.incompatibleFeatures, INCOMPAT_CORRUPT);
  data["extended-l2"] = hasFeature(info.incompatibleFeatures, INCOMPAT_EXTENDED_L2);
  return data;
}
