import { createHash, type Hash } from "node:crypto";
import { CliError, EXIT } from "./exit.js";

export const HASH_ALGORITHMS = ["sha256", "sha1", "md5"] as const;
export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];

/** Parses "sha256,md5" into algorithms, refusing unknown names as a usage error. */
export function parseAlgorithms(list: string, flag: string): HashAlgorithm[] {
  const names = list
    .split(",")
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const n of names) {
    if (!(HASH_ALGORITHMS as readonly string[]).includes(n)) {
      throw new CliError(`${flag}: '${n}' is not one of ${HASH_ALGORITHMS.join(", ")}`, EXIT.usage);
    }
  }
  if (names.length === 0) throw new CliError(`${flag}: no algorithm given`, EXIT.usage);
  return [...new Set(names)] as HashAlgorithm[];
}

const ZERO_BLOCK = 4 * 1024 * 1024;
let zeroBlock: Uint8Array | undefined;

/** Several digests computed in one pass. */
export class MultiHash {
  private readonly hashes: Array<[HashAlgorithm, Hash]>;

  constructor(algorithms: readonly HashAlgorithm[]) {
    this.hashes = algorithms.map((a) => [a, createHash(a)]);
  }

  update(chunk: Uint8Array): void {
    for (const [, h] of this.hashes) h.update(chunk);
  }

  /** Feeds `length` zero bytes: a run the map reports as zeros is hashed without being read. */
  zeros(length: number): void {
    zeroBlock ??= new Uint8Array(ZERO_BLOCK);
    for (let left = length; left > 0; left -= ZERO_BLOCK)
      this.update(zeroBlock.subarray(0, Math.min(ZERO_BLOCK, left)));
  }

  digest(): Record<string, string> {
    return Object.fromEntries(this.hashes.map(([a, h]) => [a, h.digest("hex")]));
  }
}
