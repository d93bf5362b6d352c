/**
 * Linux swap and hibernation images: the signature in the last ten bytes of
 * the first page (any page size from 4 to 64 KiB) and the v1 header at
 * 1 KiB (`union swap_header` in the kernel). A hibernation image replaces
 * "SWAPSPACE2" with its own signature (`swsuspend` to blkid).
 */
import { hasMagic, le32, slice, u8 } from "../bytes.js";
import type { Region } from "../disk.js";
import { dceUuid, labelBytes } from "../strings.js";
import type { SwapDetails } from "./details.js";
import { findMagic, type Magic, type ProbeHit, type Prober, Tags } from "./prober.js";

const HEADER_OFFSET = 1024;
/** version, last_page, nr_badpages, uuid[16], volume_name[16], padding[117], badpages[1] */
const HEADER_SIZE = 4 + 4 + 4 + 16 + 16 + 117 * 4 + 4;
const F = { version: 0, last_page: 4, uuid: 12, volume_name: 28, padding32: 44 + 32 * 4 } as const;
/** TuxOnIce keeps a valid swap signature but marks page 0 with this. */
const TOI_MAGIC = "\xed\xc3\x02\xe9\x98\x56\xe5\x0c";
const PAGE_ENDS = [0xff6, 0x1ff6, 0x3ff6, 0x7ff6, 0xfff6];

const SWAP_MAGICS: Magic[] = PAGE_ENDS.flatMap((sboff) => [
  { magic: "SWAP-SPACE", sboff },
  { magic: "SWAPSPACE2", sboff },
]);
/** libblkid's swsuspend signatures and the VERSION each reports. */
const SUSPEND_VERSIONS: Record<string, string> = {
  S1SUSPEND: "s1suspend",
  S2SUSPEND: "s2suspend",
  ULSUSPEND: "ulsuspend",
  [TOI_MAGIC]: "tuxonice",
  LINHIB0001: "linhib0001",
};
const SUSPEND_MAGICS: Magic[] = [
  { magic: TOI_MAGIC },
  ...PAGE_ENDS.flatMap((sboff) =>
    ["S1SUSPEND", "S2SUSPEND", "ULSUSPEND", "LINHIB0001"].map((magic) => ({ magic, sboff })),
  ),
];

export interface SwapHeader {
  version: number;
  /** The version field byte-swapped equals 1 (a big-endian header). */
  swappedVersion: boolean;
  lastPage: number;
  uuid: Uint8Array;
  volumeName: Uint8Array;
  /** libblkid trusts label and UUID only when padding[32..33] are zero. */
  paddingClean: boolean;
}

export function decodeSwapHeader(b: Uint8Array): SwapHeader | null {
  if (b.length < HEADER_SIZE) return null;
  const version = le32(b, F.version);
  return {
    version,
    swappedVersion: u8(b, 0) === 0 && u8(b, 1) === 0 && u8(b, 2) === 0 && u8(b, 3) === 1,
    lastPage: le32(b, F.last_page),
    uuid: slice(b, F.uuid, 16),
    volumeName: slice(b, F.volume_name, 16),
    paddingClean: le32(b, F.padding32) === 0 && le32(b, F.padding32 + 4) === 0,
  };
}

async function swapHit(
  region: Region,
  version: string,
  signature: string,
  pageSize: number,
): Promise<ProbeHit | null> {
  const bytes = await region.read(HEADER_OFFSET, HEADER_SIZE);
  const h = bytes === null ? null : decodeSwapHeader(bytes);
  if (h === null) return null;
  if (version === "1" && ((h.version !== 1 && !h.swappedVersion) || h.lastPage === 0)) return null;
  const tags = new Tags();
  if (h.paddingClean) {
    if (h.volumeName[0] !== 0) tags.set("LABEL", labelBytes(h.volumeName));
    tags.set("UUID", dceUuid(h.uuid));
  }
  tags.set("VERSION", version);
  const swap: SwapDetails = {
    signature,
    pageSize,
    version: h.version === 1 || h.swappedVersion ? 1 : null,
    lastPage: h.version === 1 ? h.lastPage : null,
  };
  return { tags: tags.values, details: { superblockOffset: HEADER_OFFSET, swap } };
}

const pageSizeOf = (m: Magic) => (m.sboff === undefined ? 4096 : m.sboff + 10);

export const SWSUSPEND_PROBER: Prober = {
  type: "swsuspend",
  usage: "other",
  minSize: 10 * 4096,
  async probe(region) {
    const found = await findMagic(region, SUSPEND_MAGICS);
    if (found === null) return null;
    const version = SUSPEND_VERSIONS[found.magic.magic];
    if (version === undefined) return null;
    return swapHit(region, version, found.magic.magic, pageSizeOf(found.magic));
  },
};

export const SWAP_PROBER: Prober = {
  type: "swap",
  usage: "other",
  minSize: 10 * 4096,
  async probe(region) {
    const found = await findMagic(region, SWAP_MAGICS);
    if (found === null) return null;
    const head = await region.read(0, TOI_MAGIC.length);
    if (head === null || hasMagic(head, 0, TOI_MAGIC)) return null;
    if (found.magic.magic === "SWAP-SPACE")
      return {
        tags: { VERSION: "0" },
        details: {
          swap: {
            signature: "SWAP-SPACE",
            pageSize: pageSizeOf(found.magic),
            version: 0,
            lastPage: null,
          },
        },
      };
    return swapHit(region, "1", "SWAPSPACE2", pageSizeOf(found.magic));
  },
};
