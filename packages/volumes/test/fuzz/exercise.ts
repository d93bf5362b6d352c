import {
  accountedRanges,
  attributeExtents,
  compareBootCode,
  compareLayouts,
  isVolumesError,
  READ_BUDGET,
  readVolumes,
  unaccounted,
  type VolumeLayout,
  volumesToJson,
} from "../../src/index.js";
import { type Mutant, mutantDisk } from "./mutate-guest.js";

/**
 * Reads one mutant's volumes and runs every pure function over the layout.
 * Anything but a result or a `VolumesError` is a failure, and so is an
 * overrun of `timeLimitMs` or of the read budget. Returns the failures.
 */
export async function exerciseGuest(
  base: Uint8Array,
  mutant: Mutant,
  reference: VolumeLayout,
  timeLimitMs: number,
): Promise<string[]> {
  const failures: string[] = [];
  const started = performance.now();
  try {
    const layout = await readVolumes(mutantDisk(base, mutant));
    JSON.stringify(volumesToJson(layout));
    attributeExtents(layout, [
      { start: 0, length: 4096 },
      { start: 1024 * 1024, length: 8 * 1024 * 1024 },
      { start: layout.size - 512, length: 4096 },
    ]);
    unaccounted(layout, [{ start: 0, length: layout.size }]);
    accountedRanges(layout);
    compareLayouts(reference, layout);
    compareBootCode(reference, layout);
    if (layout.bytesRead > READ_BUDGET)
      failures.push(`read ${layout.bytesRead} bytes, past the budget`);
  } catch (e) {
    if (!isVolumesError(e))
      failures.push(e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e));
  }
  const took = performance.now() - started;
  if (took > timeLimitMs) failures.push(`took ${took.toFixed(0)} ms (limit ${timeLimitMs} ms)`);
  return failures;
}
