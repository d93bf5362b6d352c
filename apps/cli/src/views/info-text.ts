import type { FeatureSet } from "@x/qcow2-core";
import type { ImageFacts } from "../image-facts.js";
import { bytes, hex, rows, safe } from "./format.js";

function features(set: FeatureSet): string {
  const parts = [...set.names, ...set.unknownBits.map((b) => `unknown bit ${b}`)];
  return parts.length === 0 ? "none" : `${parts.join(", ")} (${set.value})`;
}

/** The readable `info` view: every header fact, the guest's volumes in one line, problems last. */
export function renderInfoText(path: string, facts: ImageFacts, guestVolumes?: string): string {
  const { info, snapshots, bitmaps } = facts;
  const pairs: Array<readonly [string, string]> = [
    ["image", safe(path)],
    [
      "format",
      info.version === 1
        ? "qcow (version 1)"
        : `qcow2 (version ${info.version}, compat ${info.version === 2 ? "0.10" : "1.1"})`,
    ],
    ["file size", bytes(info.fileSize)],
    ["virtual size", bytes(info.virtualSize)],
    [
      "cluster size",
      info.clusterSize === null
        ? `invalid (cluster_bits ${info.clusterBits})`
        : `${info.clusterSize} (cluster_bits ${info.clusterBits})`,
    ],
    ["L1 table", `${info.l1Size} entries at ${hex(info.l1TableOffset)}`],
  ];
  if (info.version !== 1) {
    pairs.push(
      [
        "refcount bits",
        `${info.refcountBits} (table at ${hex(info.refcountTableOffset)}, ${info.refcountTableClusters} cluster(s))`,
      ],
      [
        "snapshots",
        `${info.snapshotCount}${info.snapshotCount > 0 ? ` (table at ${hex(info.snapshotsOffset)})` : ""}${snapshots.truncated ? ", TABLE TRUNCATED" : ""}`,
      ],
      ["incompatible", features(info.incompatibleFeatures)],
      ["compatible", features(info.compatibleFeatures)],
      ["autoclear", features(info.autoclearFeatures)],
      ["header length", String(info.headerLength)],
      ["compression", info.compressionTypeName],
    );
  }
  pairs.push([
    "encryption",
    info.encryption === "none"
      ? "none"
      : `${info.encryption} (crypt_method ${info.encryptionMethod})`,
  ]);
  if (info.backingFile !== null) {
    const name = info.backingFile.name === null ? "(unreadable)" : safe(info.backingFile.name);
    pairs.push([
      "backing file",
      `${name}${info.backingFormat === null ? "" : ` (format ${safe(info.backingFormat)})`}`,
    ]);
  }
  if (info.externalDataFile !== null) pairs.push(["data file", safe(info.externalDataFile)]);
  if (info.fullDiskEncryption !== null) {
    pairs.push([
      "encryption header",
      `${info.fullDiskEncryption.length} bytes at ${hex(info.fullDiskEncryption.offset)}`,
    ]);
  }
  for (const b of bitmaps.bitmaps) {
    const flags = [b.inUse ? "in-use" : "", b.auto ? "auto" : ""].filter(Boolean).join(",");
    pairs.push([
      "bitmap",
      `${safe(b.name)} granularity ${b.granularity ?? `2^${b.granularityBits}`}${flags ? ` [${flags}]` : ""}`,
    ]);
  }
  if (info.qcow1 !== null) pairs.push(["backing mtime", String(info.qcow1.mtime)]);
  if (guestVolumes !== undefined) pairs.push(["guest volumes", guestVolumes]);
  let text = rows(pairs);
  if (info.extensions.length > 0) {
    text += "\nheader extensions:";
    for (const e of info.extensions)
      text += `\n  ${e.typeHex}  ${e.name.padEnd(20)} at ${hex(e.offset)}, ${e.length} bytes`;
  }
  if (info.featureNameTable.length > 0) {
    text += "\nfeature name table:";
    for (const f of info.featureNameTable)
      text += `\n  ${f.kind.padEnd(12)} bit ${String(f.bit).padEnd(2)} ${safe(f.name)}`;
  }
  const problems = [...info.problems, ...snapshots.problems, ...bitmaps.problems];
  const outOfRange = [...info.outOfRange, ...snapshots.outOfRange];
  if (problems.length > 0 || outOfRange.length > 0) {
    text += "\nproblems:";
    for (const p of problems) text += `\n  ${safe(p.message)}`;
    for (const f of outOfRange) text += `\n  ${f.field} = ${f.value} exceeds 2^53-1`;
  }
  if (facts.qemuRefusal !== null)
    text += `\nQEMU refuses to open this image: ${safe(facts.qemuRefusal.message)}`;
  return `${text}\n`;
}
