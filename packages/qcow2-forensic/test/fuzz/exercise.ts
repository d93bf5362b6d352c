import {
  check,
  inspect,
  isQcow2Error,
  memorySource,
  Qcow2Image,
  readBitmaps,
  readLuksHeader,
  readSnapshots,
  refcountReport,
} from "@x/qcow2-core";
import { isVolumesError } from "@x/volumes";
import { auditImage, qcow2GuestOpener } from "../../src/index.js";

/** What one entry point did with a mutant. */
export type Outcome = "ok" | "typed-error";

/** A mutant that broke the contract: an untyped throw or a time overrun. */
export interface Failure {
  entry: string;
  error: string;
}

export const ENTRY_POINTS = [
  "inspect",
  "snapshots",
  "bitmaps",
  "luks",
  "refcountReport",
  "check",
  "audit",
  "map",
  "read",
] as const;

/** Bounded read of the guest disk: the first and last 64 KiB. */
async function boundedRead(bytes: Uint8Array): Promise<void> {
  const image = await Qcow2Image.open(memorySource(bytes, "mutant.qcow2"));
  await image.read(0, Math.min(image.virtualSize, 64 * 1024));
  await image.read(Math.max(0, image.virtualSize - 64 * 1024), 64 * 1024);
}

async function mapAll(bytes: Uint8Array): Promise<void> {
  const image = await Qcow2Image.open(memorySource(bytes, "mutant.qcow2"));
  await image.map();
}

const RUNNERS: Record<(typeof ENTRY_POINTS)[number], (bytes: Uint8Array) => Promise<unknown>> = {
  inspect: (b) => inspect(memorySource(b, "mutant.qcow2")),
  snapshots: (b) => readSnapshots(memorySource(b, "mutant.qcow2")),
  bitmaps: async (b) => readBitmaps(memorySource(b), await inspect(memorySource(b))),
  luks: async (b) => readLuksHeader(memorySource(b), await inspect(memorySource(b))),
  refcountReport: (b) => refcountReport(memorySource(b, "mutant.qcow2")),
  check: (b) => check(memorySource(b, "mutant.qcow2")),
  audit: (b) => {
    const source = memorySource(b, "mutant.qcow2");
    // With the guest opener, the audit reads the guest volumes of every state it can open
    // (tables and signatures over QCOW2 reads): the guest readers are fuzzed through it.
    return auditImage(source, {
      now: new Date("2030-01-01T00:00:00Z"),
      guest: qcow2GuestOpener(source),
    });
  },
  map: mapAll,
  read: boundedRead,
};

/**
 * Runs every entry point on one mutant. Each must end in a result or a
 * typed error (`Qcow2Error`, or `VolumesError` from the guest reader) within
 * `timeLimitMs`; anything else is returned as a failure.
 */
export async function exercise(bytes: Uint8Array, timeLimitMs: number): Promise<Failure[]> {
  const failures: Failure[] = [];
  for (const entry of ENTRY_POINTS) {
    const started = performance.now();
    try {
      await RUNNERS[entry](bytes);
    } catch (e) {
      if (!isQcow2Error(e) && !isVolumesError(e))
        failures.push({
          entry,
          error: e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e),
        });
    }
    const took = performance.now() - started;
    if (took > timeLimitMs)
      failures.push({ entry, error: `took ${took.toFixed(0)} ms (limit ${timeLimitMs} ms)` });
  }
  return failures;
}
