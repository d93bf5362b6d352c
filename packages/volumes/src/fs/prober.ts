import { hasMagic } from "../bytes.js";
import type { Region } from "../disk.js";
import { displayString } from "../strings.js";
import type { FilesystemDetails } from "./details.js";

/** libblkid's USAGE values. */
export type Usage = "filesystem" | "raid" | "crypto" | "other";

/** One signature found in a region, with the tags `blkid -p` would print for it. */
export interface ProbeHit {
  /** Tag name → value, exactly the superblock tags of `blkid -p -o export` (TYPE and USAGE included). */
  tags: Record<string, string>;
  /** Facts beyond blkid's tags (times, state, LVM metadata, …). */
  details: FilesystemDetails;
}

/**
 * One entry of the probe order: a signature libblkid knows, tried the way
 * its superblocks chain tries it.
 */
export interface Prober {
  /** blkid's TYPE. */
  type: string;
  usage: Usage;
  /** Regions smaller than this are not probed (libblkid's `minsz`). */
  minSize?: number;
  /** Found together with another signature without making the result ambivalent (libblkid's TOLERANT). */
  tolerant?: boolean;
  /** The signature's tags and details, or `null` when the region does not hold it. */
  probe(region: Region): Promise<ProbeHit | null>;
}

/** One magic string of a prober: `kboff` KiB plus `sboff` bytes into the region. */
export interface Magic {
  magic: string;
  kboff?: number;
  sboff?: number;
}

/**
 * libblkid's magic search: the first magic whose bytes are at its offset,
 * with the KiB window around it wholly inside the region (a magic in a
 * last, partial KiB is not seen, as in libblkid). Answers the matched
 * magic and the byte offset of its window, or `null`.
 */
export async function findMagic(
  region: Region,
  magics: readonly Magic[],
): Promise<{ magic: Magic; windowOffset: number } | null> {
  for (const m of magics) {
    const sboff = m.sboff ?? 0;
    const windowOffset = ((m.kboff ?? 0) + (sboff >> 10)) * 1024;
    if (windowOffset + 1024 > region.size) continue;
    const at = windowOffset + (sboff & 0x3ff);
    const bytes = await region.read(at, m.magic.length);
    if (bytes !== null && hasMagic(bytes, 0, m.magic)) return { magic: m, windowOffset };
  }
  return null;
}

/** Collects tags in the order libblkid sets them; absent values are skipped. */
export class Tags {
  readonly values: Record<string, string> = {};

  set(name: string, value: string | Uint8Array | null | undefined): this {
    if (value === null || value === undefined) return this;
    const s = typeof value === "string" ? value : displayString(value);
    if (s.length > 0) this.values[name] = s;
    return this;
  }

  /** A value libblkid formats with printf: kept even when a NUL made it empty. */
  setFormatted(name: string, value: Uint8Array): this {
    const nul = value.indexOf(0);
    this.values[name] = displayString(nul < 0 ? value : value.subarray(0, nul));
    return this;
  }
}
