import type { BitmapDirectory, ChainWalk, LuksInfo, Qcow2Info } from "@x/qcow2-core";
import type { Qcow2Anomaly } from "./anomaly.js";

const isAbsolute = (name: string) =>
  name.startsWith("/") || /^[A-Za-z]:[\\/]/.test(name) || name.startsWith("\\\\");

/** Persistent bitmaps and bitmaps left in use. */
export function auditBitmaps(dir: BitmapDirectory): Qcow2Anomaly[] {
  if (dir.bitmaps.length === 0) return [];
  const out: Qcow2Anomaly[] = [
    {
      code: "QCOW2-BITMAPS",
      consistent: dir.consistent,
      bitmaps: dir.bitmaps.map((b) => ({
        name: b.name,
        granularity: b.granularity,
        offset: b.offset,
        inUse: b.inUse,
        auto: b.auto,
      })),
    },
  ];
  for (const b of dir.bitmaps)
    if (b.inUse) out.push({ code: "QCOW2-BITMAP-IN-USE", name: b.name, offset: b.offset });
  return out;
}

/** The LUKS header's facts (no key needed). */
export function auditLuks(luks: LuksInfo | null): Qcow2Anomaly[] {
  if (luks === null) return [];
  const h = luks.header;
  return [
    {
      code: "QCOW2-LUKS",
      offset: luks.offset,
      version: h?.version ?? null,
      cipher: h?.cipherName ?? null,
      mode: h?.cipherMode ?? null,
      hash: h?.hashSpec ?? null,
      keyBytes: h?.keyBytes ?? null,
      activeSlots: (h?.keySlots ?? [])
        .filter((s) => s.active)
        .map((s) => ({
          index: s.index,
          iterations: s.iterations,
          stripes: s.stripes,
          keyMaterialOffset: luks.offset + s.keyMaterialSectors * 512,
        })),
      uuid: h?.uuid ?? null,
      payloadOffset: h === null ? null : h.payloadSectors * 512,
      mkDigestIterations: h?.mkDigestIterations ?? null,
      problem: luks.problem,
    },
  ];
}

/**
 * The backing chain as names alone: absolute names (which disclose the
 * original host's layout), and a chain that breaks or loops.
 */
export function auditChain(top: Qcow2Info, topName: string, walk: ChainWalk): Qcow2Anomaly[] {
  const out: Qcow2Anomaly[] = [];
  const names = [
    ...(top.backingFile?.name
      ? [{ name: top.backingFile.name, offset: top.backingFile.offset, depth: 1 }]
      : []),
    ...walk.links.flatMap((l) =>
      l.info?.backingFile?.name
        ? [{ name: l.info.backingFile.name, offset: l.info.backingFile.offset, depth: l.depth + 1 }]
        : [],
    ),
  ];
  for (const n of names)
    if (isAbsolute(n.name))
      out.push({
        code: "QCOW2-BACKING-ABSOLUTE-PATH",
        name: n.name,
        offset: n.offset,
        depth: n.depth,
      });
  const o = walk.outcome;
  const referrer = walk.links[walk.links.length - 1]?.source.name ?? topName;
  if (o.kind === "missing" || o.kind === "unreadable") {
    out.push({
      code: "QCOW2-BACKING-MISSING",
      name: o.name,
      depth: o.depth,
      referrer,
      message: o.error.message,
    });
  } else if (o.kind === "loop") {
    out.push({
      code: "QCOW2-BACKING-LOOP",
      name: o.name,
      depth: o.depth,
      referrer,
      message: o.error.message,
    });
  } else if (o.kind === "too-deep") {
    out.push({
      code: "QCOW2-BACKING-LOOP",
      name: "(chain too deep)",
      depth: o.depth,
      referrer,
      message: o.error.message,
    });
  }
  return out;
}
