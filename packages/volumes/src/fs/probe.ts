/**
 * The probe order and libblkid's "safe probe": every known signature is
 * tried in libblkid's order; a RAID or crypto signature ends the search at
 * once; two signatures of which one is not "tolerant" make the result
 * ambivalent (blkid prints nothing for such a region, and neither does
 * this: the candidates go to the problems instead).
 */
import type { Region } from "../disk.js";
import { isVolumesError } from "../errors.js";
import type { Filesystem, VolumeProblem } from "../layout.js";
import { BITLOCKER_PROBER } from "./bitlocker.js";
import { BTRFS_PROBER } from "./btrfs.js";
import { EXFAT_PROBER } from "./exfat.js";
import { EXT_PROBERS } from "./ext.js";
import { TINY_REGION, VFAT_PROBER } from "./fat.js";
import { ISO9660_PROBER } from "./iso9660.js";
import { LUKS_PROBER } from "./luks.js";
import { LVM2_PROBER } from "./lvm2.js";
import { NTFS_PROBER } from "./ntfs.js";
import type { ProbeHit, Prober } from "./prober.js";
import { SWAP_PROBER, SWSUSPEND_PROBER } from "./swap.js";
import { XFS_PROBER } from "./xfs.js";

/** The signatures this package knows, in libblkid's probe order. */
export const PROBE_ORDER: readonly Prober[] = [
  LVM2_PROBER,
  LUKS_PROBER,
  BITLOCKER_PROBER,
  VFAT_PROBER,
  SWSUSPEND_PROBER,
  SWAP_PROBER,
  XFS_PROBER,
  ...EXT_PROBERS,
  ISO9660_PROBER,
  NTFS_PROBER,
  BTRFS_PROBER,
  EXFAT_PROBER,
];

/** Regions this small are never probed (libblkid skips them: e.g. an extended partition's 1 KiB). */
const MIN_REGION = 1024;

function toFilesystem(prober: Prober, hit: ProbeHit, offset: number): Filesystem {
  const tags: Record<string, string> = { ...hit.tags, TYPE: prober.type, USAGE: prober.usage };
  return {
    type: prober.type,
    usage: prober.usage,
    uuid: tags.UUID ?? null,
    label: tags.LABEL ?? null,
    version: tags.VERSION ?? null,
    offset,
    tags,
    details: hit.details,
  };
}

/**
 * The signature of a region as `blkid -p -O <start> -S <size>` would report
 * it, or `null`. Ambivalence, failed reads and a spent read budget become
 * problems, so one bad region never hides the others.
 */
export async function probeRegion(
  region: Region,
  problems: VolumeProblem[],
  partition?: number,
): Promise<Filesystem | null> {
  if (region.size <= MIN_REGION) return null;
  const tiny = region.size <= TINY_REGION;
  const hits: Array<{ prober: Prober; hit: ProbeHit }> = [];
  const where = partition === undefined ? {} : { partition };
  try {
    for (const prober of PROBE_ORDER) {
      if (prober.minSize !== undefined && prober.minSize > region.size) continue;
      // libblkid does not look for RAID members on floppy-sized devices.
      if (prober.usage === "raid" && tiny) continue;
      const hit = await prober.probe(region);
      if (hit === null) continue;
      hits.push({ prober, hit });
      if (tiny && hits.length === 1) break;
      if (prober.usage === "raid" || prober.usage === "crypto") break;
    }
  } catch (e) {
    if (!isVolumesError(e)) throw e;
    problems.push({
      kind: "read",
      code: e.code === "LIMIT_EXCEEDED" ? "read-budget" : "read-failed",
      message: `probing the region at guest offset ${region.start}: ${e.message}`,
      offset: e.offset ?? region.start,
      ...where,
    });
    return null;
  }
  const first = hits[0];
  if (first === undefined) return null;
  if (hits.length > 1 && hits.some((h) => !h.prober.tolerant)) {
    problems.push({
      kind: "filesystem",
      code: "ambivalent",
      message: `more than one signature at guest offset ${region.start} (${hits.map((h) => h.prober.type).join(", ")}); blkid reports none of them`,
      offset: region.start,
      ...where,
    });
    return null;
  }
  return toFilesystem(first.prober, first.hit, region.start);
}
