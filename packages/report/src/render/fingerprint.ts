// Internal: a stable identity for a finding, for SARIF `partialFingerprints`.
// Dashboards (GitHub code scanning and others) use it to recognise the same
// result in the next run, so it must not depend on anything that changes
// between runs of the same image: evidence *values* are left out (one may hold
// the audit clock), the code, the evidence field names and their locations
// (structure offsets in the image) are kept. Findings that still look alike
// are told apart by their order, which the report fixes.
import type { Finding } from "../finding.js";
import { canonicalLocation } from "./canonical.js";

/** The partialFingerprints key; bump the version if the identity ever changes. */
export const FINGERPRINT_KEY = "findingIdentity/v1";

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK_64 = (1n << 64n) - 1n;

// FNV-1a, 64 bits: not cryptographic, and need not be (nobody forges a
// fingerprint to hide a result from their own dashboard); no `node:crypto`
// keeps the renderer browser-safe.
function fnv1a64(text: string): string {
  let hash = FNV_OFFSET;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= BigInt(byte);
    hash = (hash * FNV_PRIME) & MASK_64;
  }
  return hash.toString(16).padStart(16, "0");
}

function identity(f: Finding): string {
  return JSON.stringify([
    f.code,
    f.evidence.map((e) => [e.field, e.location ? canonicalLocation(e.location) : null]),
  ]);
}

/**
 * Fingerprints for one image's findings, in order: equal for the same
 * finding on the same image in every run.
 */
export function fingerprints(findings: readonly Finding[]): string[] {
  const seen = new Map<string, number>();
  return findings.map((f) => {
    const id = identity(f);
    const occurrence = seen.get(id) ?? 0;
    seen.set(id, occurrence + 1);
    return fnv1a64(`${id}\u0000${occurrence}`);
  });
}
