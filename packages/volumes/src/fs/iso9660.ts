/**
 * ISO 9660 (with Joliet) and High Sierra: the volume descriptors from
 * sector 16 (2 KiB sectors). Field offsets after ECMA-119 §8.4; the way
 * labels and ids are merged from the Joliet and primary descriptors, and
 * the UUID made of the modification (or creation) date, follow libblkid.
 */
import { hasMagic, slice, u8 } from "../bytes.js";
import { idLabelBytes, labelBytes, utf8IdLabelBytes, utf8LabelBytes } from "../strings.js";
import type { FilesystemDetails } from "./details.js";
import { findMagic, type Prober, Tags } from "./prober.js";

const SUPERBLOCK_OFFSET = 0x8000;
const SECTOR_SIZE = 0x800;
const MAX_DESCRIPTORS = 16;
const DESCRIPTOR_READ = 847;
const VD_BOOT_RECORD = 0;
const VD_PRIMARY = 1;
const VD_SUPPLEMENTARY = 2;
const VD_END = 0xff;
/** Byte offsets in a primary/supplementary descriptor (ECMA-119 §8.4). */
const F = {
  system_id: 8,
  volume_id: 40,
  escape_sequences: 88,
  volume_set_id: 190,
  publisher_id: 318,
  data_preparer_id: 446,
  application_id: 574,
  creation_date: 813,
  modification_date: 830,
} as const;
const BOOT_SYSTEM_ID = 7;

const isCSpace = (c: number) => c === 0x20 || (c >= 0x09 && c <= 0x0d);
const isUpper = (c: number) => c >= 0x41 && c <= 0x5a;
const toUpper = (c: number) => (c >= 0x61 && c <= 0x7a ? c - 0x20 : c);

function isStrEmpty(s: Uint8Array): boolean {
  if (s.length === 0 || s[0] === 0) return true;
  return s.every(isCSpace);
}

function isUtf16beStrEmpty(s: Uint8Array): boolean {
  for (let i = 0; i + 1 < s.length; i += 2)
    if (s[i] !== 0 || !isCSpace(s[i + 1] as number)) return false;
  return true;
}

/**
 * libblkid's reconstruction of a long name: when the Joliet (UTF-16BE)
 * string is a prefix of the ASCII one (ignoring '_' replacements and case),
 * the Joliet characters followed by the rest of the ASCII string, as
 * UTF-16BE; otherwise `null`.
 */
export function mergeUtf16beAscii(utf16: Uint8Array, ascii: Uint8Array): Uint8Array | null {
  const len = ascii.length;
  const out: number[] = [];
  let a = 0;
  let u = 0;
  for (; u + 1 < len && a < len; a++, u += 2) {
    if (
      (utf16[u] as number) >= 0xd8 &&
      (utf16[u] as number) <= 0xdb &&
      u + 3 < len &&
      (utf16[u + 2] as number) >= 0xdc &&
      (utf16[u + 2] as number) <= 0xdf
    ) {
      out.push(utf16[u++] as number, utf16[u++] as number);
    }
    const hi = utf16[u] ?? 0;
    const lo = utf16[u + 1] ?? 0;
    const c = ascii[a] as number;
    if (c === 0x5f) out.push(hi, lo);
    else if (hi === 0 && lo === 0x5f) out.push(0, c);
    else if (hi === 0 && toUpper(c) === toUpper(lo)) out.push(0, isUpper(c) ? lo : c);
    else return null;
  }
  for (; a < len; a++) out.push(0, ascii[a] as number);
  return out.length === 0 ? null : Uint8Array.from(out);
}

/** An ISO 9660 date (17 bytes: 16 digits and a 15-minute UTC offset) as Unix seconds, or `null`. */
export function isoDate(d: Uint8Array): number | null {
  const s = String.fromCharCode(...d.subarray(0, 16));
  if (!/^\d{16}$/.test(s) || /^0+$/.test(s)) return null;
  const n = (from: number, len: number) => Number(s.slice(from, from + len));
  const ms = Date.UTC(n(0, 4), n(4, 2) - 1, n(6, 2), n(8, 2), n(10, 2), n(12, 2));
  if (Number.isNaN(ms)) return null;
  const offset = (u8(d, 16) << 24) >> 24; // signed, in 15-minute units east of UTC
  return Math.floor(ms / 1000) - offset * 15 * 60;
}

/** libblkid's UUID from a date: "YYYY-MM-DD-HH-MM-SS-CC" (raw bytes); `undefined` when the date is unset. */
function dateUuid(d: Uint8Array): Uint8Array | null | undefined {
  const digits = d.subarray(0, 16);
  if (digits.every((c) => c === 0x30) && u8(d, 16) === 0) return undefined;
  if (digits.every((c) => c === 0)) return null;
  const out: number[] = [];
  for (const [i, c] of digits.entries()) {
    if (i === 4 || i === 6 || i === 8 || i === 10 || i === 12 || i === 14) out.push(0x2d);
    out.push(c);
  }
  return Uint8Array.from(out);
}

/** An id field: merged from Joliet and primary where libblkid merges it. */
function idField(
  tags: Tags,
  name: string,
  pvd: Uint8Array,
  joliet: Uint8Array | null,
  offset: number,
  length: number,
  emptyChecks: boolean,
): void {
  const p = slice(pvd, offset, length);
  const j = joliet === null ? null : slice(joliet, offset, length);
  if (!emptyChecks) {
    const merged = j === null ? null : mergeUtf16beAscii(j, p);
    if (merged !== null) tags.set(name, utf8IdLabelBytes(merged, "be"));
    else if (j !== null) tags.set(name, utf8IdLabelBytes(j, "be"));
    else tags.set(name, idLabelBytes(p));
    return;
  }
  const asciiEmpty = isStrEmpty(p) || p[0] === 0x5f;
  const unicodeEmpty = j === null || isUtf16beStrEmpty(j) || (j[0] === 0 && j[1] === 0x5f);
  const merged = !unicodeEmpty && !asciiEmpty && j !== null ? mergeUtf16beAscii(j, p) : null;
  if (merged !== null) tags.set(name, utf8IdLabelBytes(merged, "be"));
  else if (!unicodeEmpty && j !== null) tags.set(name, utf8IdLabelBytes(j, "be"));
  else if (!asciiEmpty) tags.set(name, idLabelBytes(p));
}

const ISO_MAGICS = [
  { magic: "CD001", kboff: 32, sboff: 1 },
  { magic: "CDROM", kboff: 32, sboff: 9 },
];

export const ISO9660_PROBER: Prober = {
  type: "iso9660",
  usage: "filesystem",
  tolerant: true,
  async probe(region) {
    const found = await findMagic(region, ISO_MAGICS);
    if (found === null) return null;
    if (found.magic.magic === "CDROM") {
      const hs = await region.read(SUPERBLOCK_OFFSET, 80);
      if (hs === null) return null;
      const tags = new Tags()
        .set("BLOCK_SIZE", String(SECTOR_SIZE))
        .set("VERSION", "High Sierra")
        .set("LABEL", labelBytes(slice(hs, 48, 32)));
      return { tags: tags.values, details: { superblockOffset: SUPERBLOCK_OFFSET } };
    }
    let boot: Uint8Array | null = null;
    let pvd: Uint8Array | null = null;
    let joliet: Uint8Array | null = null;
    for (
      let i = 0, off = SUPERBLOCK_OFFSET;
      i < MAX_DESCRIPTORS && (boot === null || pvd === null || joliet === null);
      i++, off += SECTOR_SIZE
    ) {
      const desc = await region.read(off, DESCRIPTOR_READ);
      if (desc === null || desc[0] === VD_END) break;
      if (boot === null && desc[0] === VD_BOOT_RECORD) boot = desc;
      else if (pvd === null && desc[0] === VD_PRIMARY) pvd = desc;
      else if (joliet === null && desc[0] === VD_SUPPLEMENTARY) {
        const esc = F.escape_sequences;
        if (hasMagic(desc, esc, "%/@") || hasMagic(desc, esc, "%/C") || hasMagic(desc, esc, "%/E"))
          joliet = desc;
      }
    }
    if (pvd === null) return null;
    const tags = new Tags();
    tags.set("BLOCK_SIZE", String(SECTOR_SIZE));
    idField(tags, "SYSTEM_ID", pvd, joliet, F.system_id, 32, false);
    idField(tags, "VOLUME_SET_ID", pvd, joliet, F.volume_set_id, 128, false);
    idField(tags, "PUBLISHER_ID", pvd, joliet, F.publisher_id, 128, true);
    idField(tags, "DATA_PREPARER_ID", pvd, joliet, F.data_preparer_id, 128, true);
    idField(tags, "APPLICATION_ID", pvd, joliet, F.application_id, 128, true);
    const modified = slice(pvd, F.modification_date, 17);
    const created = slice(pvd, F.creation_date, 17);
    let uuid = dateUuid(modified);
    if (uuid === undefined) uuid = dateUuid(created);
    if (uuid !== undefined && uuid !== null) tags.setFormatted("UUID", uuid);
    if (boot !== null) tags.set("BOOT_SYSTEM_ID", idLabelBytes(slice(boot, BOOT_SYSTEM_ID, 32)));
    if (joliet !== null) tags.set("VERSION", "Joliet Extension");
    const pvdLabel = slice(pvd, F.volume_id, 32);
    if (joliet !== null) {
      const j = slice(joliet, F.volume_id, 32);
      const merged = mergeUtf16beAscii(j, pvdLabel);
      tags.set("LABEL", utf8LabelBytes(merged ?? j, "be"));
    } else tags.set("LABEL", labelBytes(pvdLabel));
    const details: FilesystemDetails = { superblockOffset: SUPERBLOCK_OFFSET };
    const c = isoDate(created);
    const m = isoDate(modified);
    if (c !== null) details.created = c;
    if (m !== null) details.lastWritten = m;
    return { tags: tags.values, details };
  },
};
