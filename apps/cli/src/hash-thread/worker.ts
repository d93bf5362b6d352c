/**
 * The hashing thread's body (built as `dist/hash-worker.js`): digests the
 * chunks it is sent, from the shared memory they sit in, in the order sent.
 */
import { parentPort } from "node:worker_threads";
import { MultiHash } from "../hashing.js";
import type { HashReply, HashRequest } from "./messages.js";

let hash: MultiHash | null = null;

const reply = (message: HashReply) => parentPort?.postMessage(message);

parentPort?.on("message", (m: HashRequest) => {
  if ("start" in m) hash = new MultiHash(m.start);
  else if (hash === null) throw new Error("hash thread: no start message");
  else if ("chunk" in m) {
    hash.update(new Uint8Array(m.chunk.buffer, m.chunk.offset, m.chunk.length));
    reply({ hashed: true });
  } else if ("zeros" in m) hash.zeros(m.zeros);
  else reply({ digests: hash.digest() });
});
