/**
 * LVM2 physical volumes: the label ("LABELONE", in one of the first four
 * sectors), the PV header after it (UUID, data and metadata areas), the
 * metadata area header, and the current metadata text, from which the
 * volume group and its logical volumes' extents are read. Structure names
 * after LVM2's `label_header`, `pv_header`, `mda_header` and `raw_locn`.
 */
import { hasMagic, latin1, le32, le64, safeNumber, slice } from "../bytes.js";
import type { Region } from "../disk.js";
import type { LvmDetails, LvmLogicalVolume, LvmSegment } from "./details.js";
import { isSection, type LvmSection, type LvmValue, parseLvmText } from "./lvm2-text.js";
import { findMagic, type Magic, type Prober, Tags } from "./prober.js";

const LABEL_SIZE = 512;
const LABEL_ID = "LABELONE";
const LVM2_TYPE = "LVM2 001";
const FMTT_MAGIC = " LVM2 x[5A%r0N*>";
const MDA_HEADER_SIZE = 512;
const ID_LEN = 32;
const INITIAL_CRC = 0xf597a6cf;
/** Most disk areas listed per PV header, and most metadata text read (real text is a few KiB). */
const MAX_AREAS = 16;
const MAX_TEXT = 1024 * 1024;
const SECTOR = 512;

const LVM2_MAGICS: readonly Magic[] = [
  { magic: LVM2_TYPE, sboff: 0x218 },
  { magic: LVM2_TYPE, sboff: 0x018 },
  { magic: LVM2_TYPE, kboff: 1, sboff: 0x018 },
  { magic: LVM2_TYPE, kboff: 1, sboff: 0x218 },
];

const CRC_TABLE = [
  0x00000000, 0x1db71064, 0x3b6e20c8, 0x26d930ac, 0x76dc4190, 0x6b6b51f4, 0x4db26158, 0x5005713c,
  0xedb88320, 0xf00f9344, 0xd6d6a3e8, 0xcb61b38c, 0x9b64c2b0, 0x86d3d2d4, 0xa00ae278, 0xbdbdf21c,
];

/** LVM2's checksum (a nibble-table CRC-32 with its own initial value). */
export function lvmCrc(b: Uint8Array, initial: number = INITIAL_CRC): number {
  let crc = initial >>> 0;
  for (let i = 0; i < b.length; i++) {
    crc ^= b[i] as number;
    crc = (crc >>> 4) ^ (CRC_TABLE[crc & 0xf] as number);
    crc = (crc >>> 4) ^ (CRC_TABLE[crc & 0xf] as number);
  }
  return crc >>> 0;
}

/** A 32-character LVM id with LVM's dashes (6-4-4-4-4-4-6). */
export function formatLvmId(raw: Uint8Array): string {
  const s = latin1(raw.subarray(0, ID_LEN));
  return [
    s.slice(0, 6),
    s.slice(6, 10),
    s.slice(10, 14),
    s.slice(14, 18),
    s.slice(18, 22),
    s.slice(22, 26),
    s.slice(26),
  ].join("-");
}

export interface LvmLabel {
  /** Sector (0–3) the label sits in. */
  sector: number;
  pvUuid: Uint8Array;
  deviceSize: bigint;
  dataAreas: Array<{ offset: bigint; size: bigint }>;
  metadataAreas: Array<{ offset: bigint; size: bigint }>;
}

/**
 * Decodes a label sector (the 512 bytes starting "LABELONE") found in
 * sector `sector`: `null` when its sector number or checksum is wrong, as
 * libblkid rejects it.
 */
export function decodeLvmLabel(b: Uint8Array, sector: number): LvmLabel | null {
  if (b.length < LABEL_SIZE || !hasMagic(b, 0, LABEL_ID)) return null;
  if (le64(b, 8) !== BigInt(sector)) return null;
  if (lvmCrc(b.subarray(20, LABEL_SIZE)) !== le32(b, 16)) return null;
  const pv = le32(b, 20);
  if (pv + ID_LEN + 8 > LABEL_SIZE) return null;
  const lists: Array<Array<{ offset: bigint; size: bigint }>> = [[], []];
  let at = pv + ID_LEN + 8;
  for (const list of lists) {
    while (at + 16 <= LABEL_SIZE && list.length < MAX_AREAS) {
      const offset = le64(b, at);
      const size = le64(b, at + 8);
      at += 16;
      if (offset === 0n) break;
      list.push({ offset, size });
    }
  }
  return {
    sector,
    pvUuid: slice(b, pv, ID_LEN),
    deviceSize: le64(b, pv + ID_LEN),
    dataAreas: lists[0] ?? [],
    metadataAreas: lists[1] ?? [],
  };
}

/** Finds the label where libblkid looks: the magic's KiB, then its first or second sector. */
async function readLabel(region: Region): Promise<LvmLabel | null> {
  const found = await findMagic(region, LVM2_MAGICS);
  if (found === null) return null;
  const kb = found.windowOffset;
  const buf = await region.read(kb, 512 + 64);
  if (buf === null) return null;
  let sector = kb / 512;
  let at = 0;
  if (!hasMagic(buf, 0, LABEL_ID)) {
    if (!hasMagic(buf, 512, LABEL_ID)) return null;
    sector++;
    at = 512;
  }
  const labelSector = await region.read(kb + at, LABEL_SIZE);
  return labelSector === null ? null : decodeLvmLabel(labelSector, sector);
}

/** The current metadata text of one metadata area, or a problem saying why not. */
async function readMetadataText(
  region: Region,
  area: { offset: bigint; size: bigint },
): Promise<{ text: string; offset: number; length: number } | string> {
  const start = safeNumber(area.offset);
  const size = safeNumber(area.size);
  if (start === null || size === null) return "metadata area offset or size beyond 2^53";
  const header = await region.read(start, MDA_HEADER_SIZE);
  if (header === null) return `metadata area at ${start} lies outside the volume`;
  if (!hasMagic(header, 4, FMTT_MAGIC)) return `no metadata area header at ${start}`;
  if (lvmCrc(header.subarray(4, MDA_HEADER_SIZE)) !== le32(header, 0))
    return `metadata area header at ${start} fails its checksum`;
  const locOffset = safeNumber(le64(header, 40));
  const locSize = safeNumber(le64(header, 48));
  if (locOffset === null || locSize === null || locSize === 0)
    return `metadata area at ${start} holds no metadata text`;
  if (locSize > MAX_TEXT) return `metadata text of ${locSize} bytes not read (limit ${MAX_TEXT})`;
  if (locOffset < MDA_HEADER_SIZE || locOffset >= size)
    return `metadata text offset ${locOffset} lies outside its area`;
  // The text area is a ring after the header: text running past its end continues after the header.
  const first = Math.min(locSize, size - locOffset);
  const a = await region.read(start + locOffset, first);
  const b =
    first < locSize
      ? await region.read(start + MDA_HEADER_SIZE, locSize - first)
      : new Uint8Array(0);
  if (a === null || b === null) return "metadata text lies outside the volume";
  const bytes = new Uint8Array(locSize);
  bytes.set(a);
  bytes.set(b, a.length);
  const textChecksum = le32(header, 56);
  if (lvmCrc(bytes) !== textChecksum)
    return `metadata text at ${start + locOffset} fails its checksum`;
  return { text: new TextDecoder().decode(bytes), offset: start + locOffset, length: locSize };
}

const num = (v: LvmValue | LvmSection | undefined): number | null =>
  typeof v === "number" && Number.isSafeInteger(v) ? v : null;
const str = (v: LvmValue | LvmSection | undefined): string | null =>
  typeof v === "string" ? v : null;
const strings = (v: LvmValue | LvmSection | undefined): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];

/** Volume group facts from parsed metadata text, with guest ranges for extents on this PV. */
export function describeVolumeGroup(
  root: LvmSection,
  pvUuid: string,
  pvGuestStart: number,
): Omit<
  LvmDetails,
  "pvUuid" | "deviceSize" | "dataAreas" | "metadataAreas" | "metadataText" | "problems"
> {
  const vgEntry = Object.entries(root).find(([, v]) => isSection(v) && "physical_volumes" in v);
  const none = {
    vgName: null,
    vgUuid: null,
    seqno: null,
    extentSize: null,
    pvName: null,
    peStart: null,
    peCount: null,
    logicalVolumes: [],
  };
  if (vgEntry === undefined) return none;
  const [vgName, vg] = vgEntry as [string, LvmSection];
  const extentSectors = num(vg.extent_size);
  const pvs = isSection(vg.physical_volumes) ? vg.physical_volumes : {};
  let pvName: string | null = null;
  let peStart: number | null = null;
  let peCount: number | null = null;
  for (const [name, pv] of Object.entries(pvs)) {
    if (isSection(pv) && str(pv.id) === pvUuid) {
      pvName = name;
      const s = num(pv.pe_start);
      peStart = s === null ? null : s * SECTOR;
      peCount = num(pv.pe_count);
    }
  }
  const extentSize = extentSectors === null ? null : extentSectors * SECTOR;
  const lvs = isSection(vg.logical_volumes) ? vg.logical_volumes : {};
  const logicalVolumes: LvmLogicalVolume[] = [];
  for (const [name, lv] of Object.entries(lvs)) {
    if (!isSection(lv)) continue;
    const segments: LvmSegment[] = [];
    for (const [key, seg] of Object.entries(lv)) {
      if (!key.startsWith("segment") || !isSection(seg)) continue;
      const stripeList = Array.isArray(seg.stripes) ? seg.stripes : [];
      const stripeCount = Math.max(1, num(seg.stripe_count) ?? 1);
      const extentCount = num(seg.extent_count) ?? 0;
      const perStripe = Math.floor(extentCount / stripeCount);
      const stripes: LvmSegment["stripes"] = [];
      for (let i = 0; i + 1 < stripeList.length; i += 2) {
        const pv = stripeList[i];
        const extent = stripeList[i + 1];
        if (typeof pv !== "string" || typeof extent !== "number") continue;
        const stripe: LvmSegment["stripes"][number] = { pv, extent };
        if (pv === pvName && peStart !== null && extentSize !== null) {
          const start = pvGuestStart + peStart + extent * extentSize;
          const length = perStripe * extentSize;
          if (Number.isSafeInteger(start) && Number.isSafeInteger(length)) {
            stripe.guestStart = start;
            stripe.guestLength = length;
          }
        }
        stripes.push(stripe);
      }
      segments.push({
        startExtent: num(seg.start_extent) ?? 0,
        extentCount,
        type: str(seg.type) ?? "unknown",
        stripes,
      });
    }
    logicalVolumes.push({ name, uuid: str(lv.id), status: strings(lv.status), segments });
  }
  return {
    vgName,
    vgUuid: str(vg.id),
    seqno: num(vg.seqno),
    extentSize,
    pvName,
    peStart,
    peCount,
    logicalVolumes,
  };
}

export const LVM2_PROBER: Prober = {
  type: "LVM2_member",
  usage: "raid",
  async probe(region) {
    const label = await readLabel(region);
    if (label === null) return null;
    const tags = new Tags();
    const pvUuid = formatLvmId(label.pvUuid);
    if (label.pvUuid.some((c) => c !== 0))
      tags.setFormatted(
        "UUID",
        Uint8Array.from(pvUuid, (c) => c.charCodeAt(0)),
      );
    tags.set("VERSION", LVM2_TYPE);
    const problems: string[] = [];
    let text: { text: string; offset: number; length: number } | null = null;
    for (const area of label.metadataAreas) {
      const got = await readMetadataText(region, area);
      if (typeof got === "string") problems.push(got);
      else {
        text = got;
        break;
      }
    }
    if (label.metadataAreas.length === 0) problems.push("the PV header lists no metadata area");
    const vg =
      text === null ? null : describeVolumeGroup(parseLvmText(text.text), pvUuid, region.start);
    const area = (a: { offset: bigint; size: bigint }) => ({
      offset: safeNumber(a.offset),
      size: safeNumber(a.size),
    });
    const lvm: LvmDetails = {
      pvUuid,
      deviceSize: safeNumber(label.deviceSize),
      dataAreas: label.dataAreas.map(area),
      metadataAreas: label.metadataAreas.map(area),
      vgName: null,
      vgUuid: null,
      seqno: null,
      extentSize: null,
      pvName: null,
      peStart: null,
      peCount: null,
      logicalVolumes: [],
      ...(vg ?? {}),
      metadataText: text === null ? null : { offset: text.offset, length: text.length },
      problems,
    };
    return { tags: tags.values, details: { superblockOffset: label.sector * 512, lvm } };
  },
};
