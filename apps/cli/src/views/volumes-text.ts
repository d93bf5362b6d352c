import type { Filesystem, Partition, VolumeLayout } from "@x/volumes";
import { bytes, isoDate, safe } from "./format.js";

const SCHEME = { gpt: "GPT", mbr: "MBR (DOS)", none: "no partition table" } as const;

const short = (n: number) => bytes(n).replace(/ \(\d+ bytes\)$/, "");

function fsWhat(fs: Filesystem | null): string {
  if (fs === null) return "";
  // lsblk -f's FSTYPE and FSVER.
  return fs.version === null ? fs.type : `${fs.type} ${safe(fs.version)}`;
}

/** One line per dated or notable fact of a filesystem (times, state, LVM, LUKS). */
function fsNotes(where: string, fs: Filesystem): string[] {
  const d = fs.details;
  const out: string[] = [];
  const times = [
    d.created === undefined ? "" : `created ${isoDate(d.created)}`,
    d.lastMounted === undefined ? "" : `last mounted ${isoDate(d.lastMounted)}`,
    d.lastWritten === undefined ? "" : `last written ${isoDate(d.lastWritten)}`,
    d.lastMountedOn === undefined ? "" : `on ${safe(d.lastMountedOn)}`,
  ].filter(Boolean);
  if (times.length > 0) out.push(`${where}: ${times.join(", ")}`);
  if (d.state !== undefined || d.unclean !== undefined)
    out.push(
      `${where}: state ${d.state ?? "?"}${d.unclean === undefined ? "" : ` — ${d.unclean.map(safe).join("; ")}`}`,
    );
  if (d.generation !== undefined) out.push(`${where}: generation ${d.generation}`);
  if (d.swap !== undefined && fs.type === "swsuspend")
    out.push(`${where}: hibernation image (signature ${safe(d.swap.signature)})`);
  if (d.luks !== undefined) {
    const l = d.luks;
    out.push(
      `${where}: LUKS${l.version}${l.cipher === undefined ? "" : ` ${safe(l.cipher)}-${safe(l.cipherMode ?? "")}, hash ${safe(l.hash ?? "")}, key slots ${l.activeKeySlots?.join(",") ?? ""}`}${l.headerOffset === 0 ? "" : ` (secondary header at ${l.headerOffset})`}`,
    );
  }
  if (d.bitlocker !== undefined) out.push(`${where}: BitLocker (${d.bitlocker.kind} header)`);
  if (d.lvm !== undefined) {
    const v = d.lvm;
    out.push(
      `${where}: LVM2 PV ${v.pvUuid}${v.vgName === null ? " (metadata not read)" : `, VG ${safe(v.vgName)} (${v.extentSize === null ? "?" : short(v.extentSize)} extents)`}`,
    );
    for (const lv of v.logicalVolumes) {
      const segs = lv.segments
        .map((s) =>
          s.stripes
            .map((x) =>
              x.guestStart === undefined
                ? `${safe(x.pv)}:${x.extent}`
                : `${x.guestStart}+${x.guestLength}`,
            )
            .join(" "),
        )
        .join(", ");
      out.push(`${where}:   LV ${safe(lv.name)}: ${segs}`);
    }
  }
  return out;
}

function row(p: Partition): string[] {
  const fs = p.filesystem;
  const type = `${p.type}${p.typeName === null ? "" : ` ${p.typeName}`}`;
  return [
    `${p.number}${p.bootable ? "*" : ""}`,
    String(p.start),
    String(p.start + p.length - 1),
    short(p.length),
    p.kind === "gpt" ? safe(type) : `${p.kind} ${safe(type)}`,
    p.name === undefined ? "" : safe(p.name),
    fsWhat(fs),
    fs?.label === null || fs === null ? "" : safe(fs.label),
    fs?.uuid ?? "",
  ];
}

/**
 * The `volumes` text view: a table like mmls (slots with start, end, size)
 * and lsblk -f (filesystem type, version, label, UUID), then each
 * filesystem's dated and notable facts, then the problems.
 */
export function renderVolumesText(what: string, layout: VolumeLayout): string {
  const head = `${what}: ${SCHEME[layout.scheme]}${layout.id === null ? "" : `, id ${layout.id}`}, ${bytes(layout.size)}`;
  const lines = [head];
  if (layout.mbr?.protective && layout.scheme === "gpt")
    lines.push(`protective MBR${layout.mbr.hybrid ? " (hybrid)" : ""}`);
  if (layout.mbr !== null)
    lines.push(
      `MBR boot code: ${layout.mbr.bootCode.empty ? "none (all zero)" : `sha256 ${layout.mbr.bootCode.sha256}`}`,
    );
  if (layout.filesystem !== null) {
    const fs = layout.filesystem;
    lines.push(
      `whole disk: ${fsWhat(fs)}${fs.label === null ? "" : ` label ${safe(fs.label)}`}${fs.uuid === null ? "" : ` uuid ${fs.uuid}`}`,
    );
  }
  if (layout.partitions.length > 0) {
    const header = ["#", "START", "END", "SIZE", "TYPE", "NAME", "FSTYPE", "LABEL", "UUID"];
    const table = [header, ...layout.partitions.map(row)];
    const widths = header.map((_, i) => Math.max(...table.map((r) => (r[i] ?? "").length)));
    for (const r of table)
      lines.push(
        r
          .map((c, i) => c.padEnd(widths[i] ?? 0))
          .join("  ")
          .trimEnd(),
      );
  }
  const notes: string[] = [];
  if (layout.filesystem !== null) notes.push(...fsNotes("whole disk", layout.filesystem));
  for (const p of layout.partitions)
    if (p.filesystem !== null) notes.push(...fsNotes(`partition ${p.number}`, p.filesystem));
  if (notes.length > 0) lines.push("", ...notes);
  if (layout.problems.length > 0) {
    lines.push("", "problems:");
    for (const p of layout.problems) lines.push(`  ${p.code}: ${safe(p.message)}`);
  }
  return `${lines.join("\n")}\n`;
}

/** One line for `info`: the active disk's table and what each partition holds. */
export function volumesSummary(layout: VolumeLayout): string {
  const fs = (f: Filesystem | null) =>
    f === null ? "-" : `${f.type}${f.label === null ? "" : ` \`${safe(f.label)}\``}`;
  if (layout.scheme === "none")
    return layout.filesystem === null
      ? "no partition table, no filesystem"
      : `no partition table; whole disk ${fs(layout.filesystem)}`;
  const parts = layout.partitions.map(
    (p) => `${p.number}: ${p.kind === "extended" ? "extended" : fs(p.filesystem)}`,
  );
  const problems = layout.problems.length === 0 ? "" : `; ${layout.problems.length} problem(s)`;
  return `${SCHEME[layout.scheme]}, ${layout.partitions.length} partition(s)${parts.length > 0 ? ` (${parts.join(", ")})` : ""}${problems}`;
}
