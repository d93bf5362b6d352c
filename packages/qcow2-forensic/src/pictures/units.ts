const UNITS = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

/** A byte count for people: "64 KiB", "1.5 GiB"; exact below 1 KiB. */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n) || n < 1024) return `${n} bytes`;
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const shown = Number.isInteger(value) ? String(value) : value.toFixed(value < 10 ? 2 : 1);
  return `${shown} ${UNITS[unit]}`;
}

/** `n` with its noun, pluralised: "1 cluster", "3 clusters". */
export const plural = (n: number, noun: string) => `${n} ${noun}${n === 1 ? "" : "s"}`;

/** Grows a run-length list (`[category, count, …]`) by one cell of `category`. */
export function pushCell(runs: number[], category: number): void {
  const last = runs.length - 2;
  if (last >= 0 && runs[last] === category) (runs[last + 1] as number)++;
  else runs.push(category, 1);
}
