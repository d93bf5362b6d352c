import { createHash } from "node:crypto";
import { type ByteSource, isHttpSource, readSafely } from "@x/qcow2-core";
import type { ContainerFacts } from "@x/report";

/** Bytes read per step when a local container is hashed. */
const CHUNK = 4 * 1024 * 1024;

/**
 * The evidence container's size and digests, read once in order through the
 * source that analysed it: a local file or block device through its open
 * handle (a block device whole, as sized when it was opened; the path is not
 * opened again, so the digests are of what was analysed even if the name
 * now leads elsewhere), a remote object streamed whole in one request (so
 * the ETag pinned for the analysis holds for the digests too). `onBytes`
 * sees the running total.
 */
export async function containerFacts(
  source: ByteSource,
  algorithms: readonly string[],
  onBytes: (done: number) => void = () => undefined,
): Promise<ContainerFacts> {
  const hashes = algorithms.map((a) => [a, createHash(a)] as const);
  let done = 0;
  const chunks: AsyncIterable<Uint8Array> = isHttpSource(source)
    ? source.streamObject()
    : localChunks(source);
  for await (const chunk of chunks) {
    for (const [, h] of hashes) h.update(chunk);
    done += chunk.length;
    onBytes(done);
  }
  return {
    size: isHttpSource(source) ? source.size : done,
    hashes: Object.fromEntries(hashes.map(([a, h]) => [a, h.digest("hex")])),
    ...remoteFacts(source),
  };
}

/** The source from its first byte to its size, one read ahead of the hashing; ends early only at a short read. */
async function* localChunks(source: ByteSource): AsyncGenerator<Uint8Array> {
  const readAt = (at: number) => {
    const pending = readSafely(source, at, Math.min(CHUNK, source.size - at));
    // Seen now: a failure surfaces when the chunk is awaited, not as an unhandled rejection.
    pending.catch(() => undefined);
    return pending;
  };
  let next = source.size > 0 ? readAt(0) : null;
  let at = 0;
  while (next !== null) {
    const chunk = await next;
    at += chunk.length;
    next = chunk.length > 0 && at < source.size ? readAt(at) : null;
    yield chunk;
  }
}

/** The custody record of a remote source (nothing for a local file). */
export function remoteFacts(source: ByteSource): Pick<ContainerFacts, "remote"> {
  if (!isHttpSource(source)) return {};
  return { remote: { url: source.name, etag: source.etag, lastModified: source.lastModified } };
}
