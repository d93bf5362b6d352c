import type { HashAlgorithm } from "../hashing.js";

/** What the hashing thread is asked, in order. */
export type HashRequest =
  | { start: readonly HashAlgorithm[] }
  /** Bytes in shared memory: the sender does not touch them until the matching {@link HashReply} `hashed`. */
  | { chunk: { buffer: SharedArrayBuffer; offset: number; length: number } }
  | { zeros: number }
  | { digest: true };

/** What it answers: one `hashed` per chunk, in order, then the digests. */
export type HashReply = { hashed: true } | { digests: Record<string, string> };
