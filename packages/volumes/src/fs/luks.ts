/**
 * LUKS1 and LUKS2 headers (cryptsetup's on-disk format documents): the
 * binary header at offset 0, or for LUKS2 a secondary header at one of the
 * offsets cryptsetup uses when the primary is gone, as libblkid searches.
 */
import { be16, be32, be64, hasMagic, latin1, slice } from "../bytes.js";
import type { Region } from "../disk.js";
import { cString, idLabelBytes, labelBytes } from "../strings.js";
import type { LuksDetails } from "./details.js";
import { type Prober, Tags } from "./prober.js";

const MAGIC_PRIMARY = "LUKS\xba\xbe";
const MAGIC_SECONDARY = "SKUL\xba\xbe";
/** LUKS2 secondary header offsets (cryptsetup's LUKS2_HDR2_OFFSETS). */
const SECONDARY_OFFSETS = [
  0x4000, 0x8000, 0x10000, 0x20000, 0x40000, 0x80000, 0x100000, 0x200000, 0x400000,
];
const HEADER_SIZE = 4096;
const V1 = {
  cipherName: 8,
  cipherMode: 40,
  hashSpec: 72,
  payloadOffset: 104,
  keyBytes: 108,
  uuid: 168,
  keyslots: 208,
} as const;
const V2 = {
  hdr_size: 8,
  seqid: 16,
  label: 24,
  checksum_alg: 72,
  uuid: 168,
  subsystem: 208,
} as const;
const KEYSLOT_SIZE = 48;
const KEYSLOT_ACTIVE = 0x00ac71f3;

export interface LuksHeader {
  version: number;
  uuid: Uint8Array;
  label: Uint8Array | null;
  subsystem: Uint8Array | null;
  details: Omit<LuksDetails, "headerOffset">;
}

/** Decodes a LUKS header (either magic) from its first 4096 bytes (592 suffice for LUKS1). */
export function decodeLuksHeader(b: Uint8Array): LuksHeader | null {
  if (b.length < 512 || !(hasMagic(b, 0, MAGIC_PRIMARY) || hasMagic(b, 0, MAGIC_SECONDARY)))
    return null;
  const version = be16(b, 6);
  if (version === 1) {
    const slots: number[] = [];
    for (let i = 0; i < 8; i++)
      if (be32(b, V1.keyslots + i * KEYSLOT_SIZE) === KEYSLOT_ACTIVE) slots.push(i);
    return {
      version,
      uuid: slice(b, V1.uuid, 40),
      label: null,
      subsystem: null,
      details: {
        version,
        cipher: latin1(cString(slice(b, V1.cipherName, 32))),
        cipherMode: latin1(cString(slice(b, V1.cipherMode, 32))),
        hash: latin1(cString(slice(b, V1.hashSpec, 32))),
        payloadOffset: be32(b, V1.payloadOffset),
        keyBytes: be32(b, V1.keyBytes),
        activeKeySlots: slots,
      },
    };
  }
  return {
    version,
    uuid: slice(b, version === 2 ? V2.uuid : V1.uuid, 40),
    label: version === 2 ? slice(b, V2.label, 48) : null,
    subsystem: version === 2 ? slice(b, V2.subsystem, 48) : null,
    details:
      version === 2
        ? {
            version,
            headerSize: be64(b, V2.hdr_size).toString(),
            seqid: be64(b, V2.seqid).toString(),
            checksumAlgorithm: latin1(cString(slice(b, V2.checksum_alg, 32))),
          }
        : { version },
  };
}

async function findHeader(region: Region): Promise<{ bytes: Uint8Array; offset: number } | null> {
  const first = await region.read(0, 512);
  if (first === null) return null;
  if (hasMagic(first, 0, MAGIC_PRIMARY))
    return { bytes: (await region.read(0, HEADER_SIZE)) ?? first, offset: 0 };
  for (const offset of SECONDARY_OFFSETS) {
    const head = await region.read(offset, 512);
    // libblkid gives up at the first offset beyond the region.
    if (head === null) return null;
    if (hasMagic(head, 0, MAGIC_SECONDARY))
      return { bytes: (await region.read(offset, HEADER_SIZE)) ?? head, offset };
  }
  return null;
}

export const LUKS_PROBER: Prober = {
  type: "crypto_LUKS",
  usage: "crypto",
  async probe(region) {
    const found = await findHeader(region);
    const h = found === null ? null : decodeLuksHeader(found.bytes);
    if (found === null || h === null) return null;
    const tags = new Tags();
    tags.set("VERSION", String(h.version));
    if (h.version === 1 || h.version === 2) {
      // libblkid keeps the UUID string as stored (up to its NUL, trailing blanks trimmed).
      tags.set("UUID", labelBytes(h.uuid));
    }
    if (h.version === 2) {
      tags.set("LABEL", h.label === null ? null : labelBytes(h.label));
      tags.set("SUBSYSTEM", h.subsystem === null ? null : idLabelBytes(h.subsystem));
    }
    return {
      tags: tags.values,
      details: {
        superblockOffset: found.offset,
        luks: { ...h.details, headerOffset: found.offset },
      },
    };
  },
};
