import type { Filesystem, Partition, VolumeLayout } from "./layout.js";

/** Unix seconds as an ISO 8601 UTC string (or the number when no date can hold it). */
function isoTime(secs: number): string | number {
  const d = new Date(secs * 1000);
  return Number.isNaN(d.getTime()) ? secs : d.toISOString().replace(".000Z", "Z");
}

/** A filesystem as plain JSON: blkid's type, uuid, label, version, then every other fact (times in ISO 8601). */
export function filesystemToJson(fs: Filesystem | null): Record<string, unknown> | null {
  if (fs === null) return null;
  const { created, lastMounted, lastWritten, ...rest } = fs.details;
  return {
    type: fs.type,
    uuid: fs.uuid,
    label: fs.label,
    version: fs.version,
    usage: fs.usage,
    offset: fs.offset,
    ...(created === undefined ? {} : { created: isoTime(created) }),
    ...(lastMounted === undefined ? {} : { lastMounted: isoTime(lastMounted) }),
    ...(lastWritten === undefined ? {} : { lastWritten: isoTime(lastWritten) }),
    ...rest,
    tags: fs.tags,
  };
}

function partitionToJson(p: Partition): Record<string, unknown> {
  return {
    number: p.number,
    start: p.start,
    length: p.length,
    type: p.type,
    ...(p.name === undefined ? {} : { name: p.name }),
    ...(p.uuid === undefined ? {} : { uuid: p.uuid }),
    typeName: p.typeName,
    kind: p.kind,
    ...(p.bootable ? { bootable: true } : {}),
    ...(p.attrs === undefined ? {} : { attrs: p.attrs }),
    entryOffset: p.entryOffset,
    filesystem: filesystemToJson(p.filesystem),
    ...(p.bootRecord === undefined ? {} : { bootRecord: p.bootRecord }),
  };
}

/**
 * The documented JSON of a layout (`qcow2-forensic volumes --json`):
 * `{"scheme", "filesystem", "partitions": [{"start", "length", "type",
 * "name"?, "uuid"?, "filesystem"}], …}` with the table details, problems
 * and bytes read after them.
 *
 * @example
 * ```ts
 * console.log(JSON.stringify(volumesToJson(await readVolumes(disk)), null, 2));
 * ```
 */
export function volumesToJson(layout: VolumeLayout): Record<string, unknown> {
  return {
    scheme: layout.scheme,
    id: layout.id,
    size: layout.size,
    sectorSize: layout.sectorSize,
    filesystem: filesystemToJson(layout.filesystem),
    partitions: layout.partitions.map(partitionToJson),
    mbr: layout.mbr,
    gpt: layout.gpt,
    problems: layout.problems,
    bytesRead: layout.bytesRead,
  };
}
