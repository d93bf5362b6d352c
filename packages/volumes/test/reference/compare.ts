/**
 * Grading against the reference tools: every partition fact against
 * `sfdisk --json`, every signature's tags against `blkid -p -O -S`.
 */
import { expect } from "vitest";
import { blkidProbe, blkidRaw, sfdiskJson } from "../../../../fixtures/harness/guest.js";
import { displayString, type Partition, type VolumeLayout } from "../../src/index.js";

/** blkid's tags with values spelled as this package spells them (UTF-8, other bytes as \xNN). */
export function blkid(disk: string, offset?: number, size?: number): Record<string, string> {
  return Object.fromEntries(
    Object.entries(blkidRaw(disk, offset, size)).map(([k, v]) => [k, displayString(v)]),
  );
}

/** blkid's tags (spelled as above) and whether it found the region ambivalent (exit status 8). */
export function blkidWithStatus(
  disk: string,
  offset: number,
  size: number,
): { tags: Record<string, string>; ambivalent: boolean } {
  const { tags, status } = blkidProbe(disk, offset, size);
  return {
    tags: Object.fromEntries(Object.entries(tags).map(([k, v]) => [k, displayString(v)])),
    ambivalent: status === 8,
  };
}

/** A partition in `sfdisk --json`'s shape (sectors, node name). */
export function asSfdisk(p: Partition, device: string): Record<string, unknown> {
  return {
    node: `${device}${p.number}`,
    start: p.start / 512,
    size: p.length / 512,
    type: p.type,
    ...(p.uuid === undefined ? {} : { uuid: p.uuid }),
    ...(p.name === undefined ? {} : { name: p.name }),
    ...(p.attrs === undefined ? {} : { attrs: p.attrs }),
    ...(p.bootable ? { bootable: true } : {}),
  };
}

/** The table equals what sfdisk lists (label, id, every partition and its fields). */
export function expectTableMatchesSfdisk(disk: string, layout: VolumeLayout): void {
  const table = sfdiskJson(disk);
  if (table === null) {
    expect(layout.scheme).toBe("none");
    return;
  }
  // libfdisk reads any sector 0 ending in 0x55AA as a DOS table; libblkid (and this package) first
  // rule out a FAT or NTFS boot sector, which carries the same signature.
  const vbr = layout.filesystem?.type === "vfat" || layout.filesystem?.type === "ntfs";
  if (
    layout.scheme === "none" &&
    vbr &&
    table.label === "dos" &&
    (table.partitions ?? []).length === 0
  )
    return;
  expect(layout.scheme).toBe(table.label === "dos" ? "mbr" : "gpt");
  expect(layout.id).toBe(table.id);
  if (table.label === "gpt") {
    expect(layout.gpt?.firstUsableLba).toBe(table.firstlba);
    expect(layout.gpt?.lastUsableLba).toBe(table.lastlba);
  }
  const device = table.device;
  expect(layout.partitions.map((p) => asSfdisk(p, device))).toEqual(table.partitions ?? []);
}

/** Each partition's (or the whole disk's) signature tags equal blkid's for the same region. */
export function expectSignaturesMatchBlkid(disk: string, layout: VolumeLayout): void {
  expect(layout.filesystem?.tags ?? {}).toEqual(blkid(disk));
  for (const p of layout.partitions) {
    if (p.kind === "extended" || p.length === 0 || p.start >= layout.size) continue;
    const size = Math.min(p.length, layout.size - p.start);
    expect({ partition: p.number, tags: p.filesystem?.tags ?? {} }).toEqual({
      partition: p.number,
      tags: blkid(disk, p.start, size),
    });
  }
}

/** Two layouts of the same bytes (raw file and QCOW2) are the same, bytes read aside. */
export function expectSameLayout(a: VolumeLayout, b: VolumeLayout): void {
  expect({ ...a, bytesRead: 0 }).toEqual({ ...b, bytesRead: 0 });
}
