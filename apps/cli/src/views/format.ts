/** Small text helpers shared by the readable views. */

export function hex(n: number): string {
  return Number.isFinite(n) ? `0x${n.toString(16)}` : "out of range";
}

export function bytes(n: number): string {
  if (!Number.isFinite(n)) return "out of range";
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  const shown = u === 0 ? String(v) : Number.isInteger(v) ? String(v) : v.toFixed(2);
  return `${shown} ${units[u]} (${n} bytes)`;
}

/** Renders label/value rows with the labels padded to one column. */
export function rows(pairs: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...pairs.map(([k]) => k.length)) + 2;
  return pairs.map(([k, v]) => `${`${k}:`.padEnd(width)}${v}`).join("\n");
}

/** Names from an image are untrusted: printed escaped, one line each. */
export { escapeForTerminal as safe } from "@x/report";

export function isoDate(sec: number, nsec = 0): string {
  const d = new Date(sec * 1000 + Math.floor(nsec / 1e6));
  return Number.isNaN(d.getTime()) ? String(sec) : d.toISOString();
}

/** VM clock as qemu-img prints it: HHH:MM:SS.mmm. */
export function vmClock(sec: number, nsec: number): string {
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  return `${String(h).padStart(3, "0")}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}.${String(Math.floor(nsec / 1e6)).padStart(3, "0")}`;
}
