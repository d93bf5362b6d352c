import { mbrBootCode, partitionBootCode } from "./boot-code.js";
import { DiskReader, type GuestDisk, READ_BUDGET, Region, SECTOR } from "./disk.js";
import { isVolumesError } from "./errors.js";
import { isFatBootSector } from "./fs/fat.js";
import { LVM2_PROBER } from "./fs/lvm2.js";
import { isNtfsBootSector } from "./fs/ntfs.js";
import { probeRegion } from "./fs/probe.js";
import type { MbrFacts, Partition, VolumeLayout, VolumeProblem } from "./layout.js";
import { readGpt } from "./table/gpt.js";
import {
  decodeMbrSector,
  looksLikeDosTable,
  MBR_TYPE_GPT,
  type MbrSector,
  mbrDiskId,
  readMbrPartitions,
} from "./table/mbr.js";

/** Options for {@link readVolumes}. */
export interface ReadVolumesOptions {
  /** Most guest bytes read (default {@link READ_BUDGET}); past it, probing stops with a `read` problem. */
  readBudget?: number;
  /** Fingerprint boot code (MBR and volume boot records); default true. */
  bootCode?: boolean;
}

/**
 * Reads the partition table and the filesystem/volume signatures of a guest
 * disk: partitions as `sfdisk --json` lists them (in bytes), signatures as
 * `blkid -p` prints them, the whole-disk signature when there is no table.
 * Damaged or hostile tables give `problems`, never a throw; only a failing
 * disk (`IO`) or an unusable disk object (`INVALID_DISK`) throws a
 * {@link VolumesError}. Reads a few tens of KiB on a typical disk.
 *
 * @example
 * ```ts
 * const image = await openImage("disk.qcow2"); // any { size, read(offset, length) }
 * const layout = await readVolumes(image);
 * for (const p of layout.partitions) console.log(p.number, p.start, p.type, p.filesystem?.type);
 * ```
 */
export async function readVolumes(
  disk: GuestDisk,
  options: ReadVolumesOptions = {},
): Promise<VolumeLayout> {
  const reader = new DiskReader(disk, options.readBudget ?? READ_BUDGET);
  const problems: VolumeProblem[] = [];
  const layout: VolumeLayout = {
    scheme: "none",
    size: reader.size,
    sectorSize: SECTOR,
    id: null,
    filesystem: null,
    partitions: [],
    mbr: null,
    gpt: null,
    problems,
    bytesRead: 0,
  };
  const whole = new Region(reader, 0, reader.size);
  const sector0 = await reader.read(0, SECTOR);
  const mbr = sector0 === null ? null : decodeMbrSector(sector0);
  try {
    if (mbr?.signature) await readTable(reader, whole, mbr, layout, problems);
    else if (mbr !== null) await noteOrphanGpt(reader, problems);
  } catch (e) {
    if (!isVolumesError(e) || e.code !== "LIMIT_EXCEEDED") throw e;
    problems.push({ kind: "read", code: "read-budget", message: e.message, offset: e.offset ?? 0 });
  }
  // The whole disk as blkid probes the device: its filesystem when there is no table (and the
  // rare signature that shares sector 0 with a table, e.g. an exFAT "superfloppy" or a hybrid ISO).
  layout.filesystem = await probeRegion(whole, problems);
  if (layout.scheme !== "none")
    await probePartitions(reader, layout, problems, options.bootCode ?? true);
  checkGeometry(layout, problems);
  layout.bytesRead = reader.bytesRead;
  return layout;
}

async function readTable(
  reader: DiskReader,
  whole: Region,
  mbr: MbrSector,
  layout: VolumeLayout,
  problems: VolumeProblem[],
): Promise<void> {
  const protective = mbr.entries.some((e) => e.type === MBR_TYPE_GPT);
  if (protective) {
    const gpt = await readGpt(reader, problems);
    if (gpt !== null) {
      layout.scheme = "gpt";
      layout.id = gpt.diskGuid;
      layout.gpt = gpt.facts;
      layout.partitions = gpt.partitions;
      layout.mbr = mbrFacts(mbr, true, []);
      return;
    }
  } else {
    // libblkid's tests that sector 0 is a table and not a volume boot record or an LVM label.
    if (!looksLikeDosTable(mbr)) return;
    if ((await isFatBootSector(whole)) || (await isNtfsBootSector(whole))) return;
    if (mbr.entries.every((e) => e.sectors === 0) && (await LVM2_PROBER.probe(whole)) !== null)
      return;
  }
  // sfdisk reads a protective MBR whose GPT is unreadable as a DOS table, as this does.
  const { partitions, ebrOffsets } = await readMbrPartitions(reader, mbr, problems);
  layout.scheme = "mbr";
  layout.id = mbrDiskId(mbr.diskSignature);
  layout.partitions = partitions;
  layout.mbr = mbrFacts(mbr, protective, ebrOffsets);
}

function mbrFacts(mbr: MbrSector, protective: boolean, ebrOffsets: number[]): MbrFacts {
  return {
    diskSignature: mbrDiskId(mbr.diskSignature),
    protective,
    hybrid: protective && mbr.entries.some((e) => e.type !== MBR_TYPE_GPT && e.type !== 0),
    bootCode: mbrBootCode(mbr.bootCode),
    ebrOffsets,
  };
}

/** A GPT header at LBA 1 behind a sector 0 without a protective MBR: sfdisk and blkid see no table. */
async function noteOrphanGpt(reader: DiskReader, problems: VolumeProblem[]): Promise<void> {
  const lba1 = await reader.read(SECTOR, 8);
  if (lba1 !== null && String.fromCharCode(...lba1) === "EFI PART")
    problems.push({
      kind: "gpt",
      code: "gpt-without-protective-mbr",
      message:
        "a GPT header is at LBA 1 but sector 0 holds no protective MBR (0x55AA signature missing); the table is not used, as sfdisk and blkid do not use it",
      offset: 510,
    });
}

async function probePartitions(
  reader: DiskReader,
  layout: VolumeLayout,
  problems: VolumeProblem[],
  bootCode: boolean,
): Promise<void> {
  for (const part of layout.partitions) {
    if (part.kind === "extended" || part.length === 0 || part.start >= reader.size) continue;
    const region = new Region(reader, part.start, Math.min(part.length, reader.size - part.start));
    part.filesystem = await probeRegion(region, problems, part.number);
    if (!bootCode) continue;
    try {
      const code = await partitionBootCode(reader, part);
      if (code !== null) part.bootRecord = code;
    } catch (e) {
      if (!isVolumesError(e)) throw e;
      problems.push({
        kind: "read",
        code: e.code === "LIMIT_EXCEEDED" ? "read-budget" : "read-failed",
        message: `reading the boot code of partition ${part.number}: ${e.message}`,
        partition: part.number,
        offset: part.start,
      });
    }
  }
}

/** Partitions past the end of the disk, and partitions that overlap (a logical may sit inside its extended partition). */
function checkGeometry(layout: VolumeLayout, problems: VolumeProblem[]): void {
  const parts = layout.partitions;
  for (const p of parts) {
    if (p.start + p.length > layout.size)
      problems.push({
        kind: "table",
        code: "partition-past-end",
        message: `partition ${p.number} (bytes ${p.start}..${p.start + p.length}) ends past the end of the disk (${layout.size} bytes)`,
        offset: p.entryOffset,
        partition: p.number,
      });
  }
  const extended = parts.find((p) => p.kind === "extended");
  for (const p of parts) {
    if (p.kind !== "logical" || extended === undefined) continue;
    if (p.start < extended.start || p.start + p.length > extended.start + extended.length)
      problems.push({
        kind: "table",
        code: "logical-outside-extended",
        message: `logical partition ${p.number} lies outside extended partition ${extended.number}`,
        offset: p.entryOffset,
        partition: p.number,
      });
  }
  // Sorted sweep: each partition against the ones that start before it ends.
  const sorted = parts
    .filter((p) => p.length > 0)
    .sort((a, b) => a.start - b.start || a.number - b.number);
  let reported = 0;
  for (let i = 0; i < sorted.length && reported < 100; i++) {
    const a = sorted[i] as Partition;
    for (let j = i + 1; j < sorted.length && reported < 100; j++) {
      const b = sorted[j] as Partition;
      if (b.start >= a.start + a.length) break;
      const nested = (x: Partition, y: Partition) => x.kind === "extended" && y.kind === "logical";
      if (nested(a, b) || nested(b, a)) continue;
      reported++;
      problems.push({
        kind: "table",
        code: "partitions-overlap",
        message: `partitions ${a.number} and ${b.number} overlap (bytes ${b.start}..${Math.min(a.start + a.length, b.start + b.length)})`,
        offset: b.entryOffset,
        partition: b.number,
      });
    }
  }
}
