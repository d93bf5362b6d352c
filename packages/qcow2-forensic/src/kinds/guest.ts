import { type Evidence, guestLocation } from "@x/report";
import type { AnomalyOf, GuestVolumeRef } from "../anomaly.js";
import { hex, MAX_CITED } from "./cite.js";
import type { AnomalyKind } from "./kind.js";

/** Evidence located at a guest offset (optionally a length). */
function atGuest(field: string, value: string, offset: number, length?: number): Evidence {
  return Number.isSafeInteger(offset) && offset >= 0
    ? {
        field,
        value,
        location: guestLocation(
          offset,
          length !== undefined && Number.isSafeInteger(length) && length >= 0 ? length : undefined,
        ),
      }
    : { field, value };
}

/** "partition 2 (ext4 `root`)" or "the whole disk (ext4)". */
function where(v: GuestVolumeRef): string {
  const what = `${v.type}${v.label === null ? "" : ` \`${v.label}\``}`;
  return v.partition === null ? `the whole disk (${what})` : `partition ${v.partition} (${what})`;
}

const inStates = (states: readonly string[]) =>
  states.length === 1 ? `in the ${states[0]}` : `in ${states.length} states (${states.join(", ")})`;

const iso = (sec: number) => {
  const d = new Date(sec * 1000);
  return Number.isNaN(d.getTime()) ? String(sec) : d.toISOString();
};

/** The volume's own evidence: where it is, what it is, and in which states. */
function volumeEvidence(v: GuestVolumeRef): Evidence[] {
  const out: Evidence[] = [
    atGuest(
      v.partition === null ? "disk" : "partition",
      v.partition === null ? "whole disk" : String(v.partition),
      v.offset,
      v.length,
    ),
    atGuest("type", v.type, v.offset, v.length),
    { field: "states", value: v.states.join("; ") },
  ];
  if (v.uuid !== null) out.push(atGuest("uuid", v.uuid, v.offset, v.length));
  if (v.label !== null) out.push(atGuest("label", v.label, v.offset, v.length));
  return out;
}

export const guestEncryptedVolume: AnomalyKind<AnomalyOf<"QCOW2-GUEST-ENCRYPTED-VOLUME">> = {
  severity: "medium",
  category: "confidentiality",
  meaning:
    "a LUKS or BitLocker volume inside the guest: its contents are unreadable without the key",
  note: (a) =>
    `${where(a.volume)} is a ${a.volume.type === "BitLocker" ? "BitLocker" : "LUKS"} volume${a.version === null ? "" : ` (version ${a.version})`} ${inStates(a.volume.states)} — consistent with encrypted guest data that needs its key or recovery key to examine`,
  evidence: (a) => [
    ...volumeEvidence(a.volume),
    ...(a.version === null ? [] : [atGuest("version", a.version, a.headerOffset)]),
    atGuest("header_offset", hex(a.headerOffset), a.headerOffset, 512),
  ],
};

export const guestHibernation: AnomalyKind<AnomalyOf<"QCOW2-GUEST-HIBERNATION">> = {
  severity: "medium",
  category: "history",
  meaning: "a swap area holds a hibernation image: the guest's RAM as it was at hibernation",
  note: (a) =>
    `${where(a.volume)} carries the hibernation signature ${JSON.stringify(a.signature)} ${inStates(a.volume.states)} — consistent with a guest that hibernated; the image holds its memory (processes, keys, documents) for memory forensics`,
  evidence: (a) => [
    ...volumeEvidence(a.volume),
    atGuest("signature", a.signature, a.signatureOffset, a.signature.length),
  ],
};

export const guestPartitionTableChanged: AnomalyKind<
  AnomalyOf<"QCOW2-GUEST-PARTITION-TABLE-CHANGED">
> = {
  severity: "medium",
  category: "history",
  meaning:
    "the guest's volume layout differs between two states (a snapshot and the active disk, or the backing file and the overlay)",
  note: (a) =>
    `the volume layout of the ${a.from} differs from the ${a.to} (${a.changes.length} change(s): ${a.changes
      .slice(0, 3)
      .map((c) => c.kind + (c.partition === undefined ? "" : ` ${c.partition}`))
      .join(
        ", ",
      )}${a.changes.length > 3 ? ", …" : ""}) — consistent with repartitioning, reformatting or a wiped disk between the two`,
  evidence: (a) => [
    { field: "from_state", value: a.from },
    { field: "to_state", value: a.to },
    { field: "changes", value: String(a.changes.length) },
    ...a.changes
      .slice(0, MAX_CITED)
      .map((c) =>
        atGuest(
          c.kind + (c.partition === undefined ? "" : ` ${c.partition}`),
          `${c.before} → ${c.after}`,
          c.offset ?? 0,
        ),
      ),
  ],
};

export const guestBootCodeChanged: AnomalyKind<AnomalyOf<"QCOW2-GUEST-BOOT-CODE-CHANGED">> = {
  severity: "high",
  category: "integrity",
  meaning:
    "the MBR boot code or a volume boot record differs between two states: a bootkit or a re-installed boot loader",
  note: (a) =>
    `${a.changes.map((c) => c.what + (c.partition === null ? "" : ` of partition ${c.partition}`)).join(", ")} differ${a.changes.length === 1 ? "s" : ""} between the ${a.from} and the ${a.to} — consistent with a bootkit or a re-installed or updated boot loader`,
  evidence: (a) => [
    { field: "from_state", value: a.from },
    { field: "to_state", value: a.to },
    ...a.changes
      .slice(0, MAX_CITED)
      .flatMap((c) => [
        atGuest(`${c.what} sha256 before`, c.before, c.offset, c.length),
        atGuest(`${c.what} sha256 after`, c.after, c.offset, c.length),
      ]),
  ],
};

const problemEvidence = (
  states: string[],
  problems: AnomalyOf<"QCOW2-GUEST-GPT-DAMAGED">["problems"],
) => [
  { field: "states", value: states.join("; ") },
  ...problems.slice(0, MAX_CITED).map((p) => atGuest(p.code, p.message, p.offset ?? 0)),
];

export const guestGptDamaged: AnomalyKind<AnomalyOf<"QCOW2-GUEST-GPT-DAMAGED">> = {
  severity: "high",
  category: "integrity",
  meaning:
    "the guest's GPT is damaged: a header or entry array fails its CRC32, or the primary and backup disagree",
  note: (a) =>
    `the GPT is damaged ${inStates(a.states)}: ${a.problems[0]?.message ?? ""}${a.problems.length > 1 ? ` (and ${a.problems.length - 1} more)` : ""} — consistent with a damaged disk, an interrupted repartitioning, or a table edited by hand`,
  evidence: (a) => problemEvidence(a.states, a.problems),
};

export const guestPartitionTableInconsistent: AnomalyKind<
  AnomalyOf<"QCOW2-GUEST-PARTITION-TABLE-INCONSISTENT">
> = {
  severity: "medium",
  category: "structure",
  meaning:
    "the guest's partition table contradicts itself: overlapping partitions, partitions past the disk's end, a looping extended chain",
  note: (a) =>
    `the partition table is inconsistent ${inStates(a.states)}: ${a.problems[0]?.message ?? ""}${a.problems.length > 1 ? ` (and ${a.problems.length - 1} more)` : ""} — consistent with a damaged table or one crafted to confuse tools`,
  evidence: (a) => problemEvidence(a.states, a.problems),
};

export const guestUnpartitionedData: AnomalyKind<AnomalyOf<"QCOW2-GUEST-UNPARTITIONED-DATA">> = {
  severity: "medium",
  category: "hidden-data",
  meaning:
    "allocated, non-zero data outside every partition and outside the partition table's own sectors",
  note: (a) =>
    `${a.bytes} allocated bytes of the ${a.state} lie outside every partition and table structure (${a.rangeCount} range(s)); ${a.nonZero} of ${a.scanned} bytes read there are not zero${a.firstNonZero === null ? "" : `, first at guest offset ${hex(a.firstNonZero)}`} — consistent with hidden data, or a boot loader's embedding area (GRUB's core image in the MBR gap)`,
  evidence: (a) => [
    { field: "state", value: a.state },
    { field: "unaccounted_bytes", value: String(a.bytes) },
    { field: "scanned_bytes", value: String(a.scanned) },
    { field: "non_zero_bytes", value: String(a.nonZero) },
    ...(a.firstNonZero === null
      ? []
      : [atGuest("first_non_zero", hex(a.firstNonZero), a.firstNonZero)]),
    ...a.ranges
      .slice(0, MAX_CITED)
      .map((r) => atGuest("range", `${hex(r.start)}+${r.length}`, r.start, r.length)),
  ],
};

export const guestFsErrors: AnomalyKind<AnomalyOf<"QCOW2-GUEST-FS-ERRORS">> = {
  severity: "low",
  category: "integrity",
  meaning: "a guest filesystem is marked as having errors or as not cleanly unmounted",
  note: (a) =>
    `${where(a.volume)} ${inStates(a.volume.states)}: ${a.reasons.join("; ")} — consistent with a filesystem that was mounted when the state was captured, a crash, or recorded errors`,
  evidence: (a) => [
    ...volumeEvidence(a.volume),
    ...a.reasons.map((r) => atGuest("reason", r, a.volume.offset + a.superblockOffset)),
  ],
};

export const guestFsTimeAnomaly: AnomalyKind<AnomalyOf<"QCOW2-GUEST-FS-TIME-ANOMALY">> = {
  severity: "medium",
  category: "history",
  meaning:
    "a guest filesystem time lies in the future of the audit clock, or after the date of the snapshot that holds it",
  note: (a) =>
    a.reason === "future"
      ? `${where(a.volume)} was ${a.field} ${iso(a.time)} ${inStates(a.volume.states)}, after the audit clock ${iso(a.reference)} — consistent with a wrong guest clock or an edited superblock`
      : `${where(a.volume)} was ${a.field} ${iso(a.time)} ${inStates(a.volume.states)}, after that snapshot was taken (${iso(a.reference)}) — consistent with a guest clock ahead of the host's, or an edited superblock or snapshot table`,
  evidence: (a) => [
    ...volumeEvidence(a.volume),
    atGuest(a.field, `${a.time} (${iso(a.time)})`, a.volume.offset + a.superblockOffset),
    { field: "reason", value: a.reason },
    { field: "reference_unix_secs", value: String(a.reference) },
  ],
};
