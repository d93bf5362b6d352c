import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { type ByteSource, isHttpSource } from "@x/qcow2-core";
import type { ContainerFacts } from "@x/report";

/**
 * The evidence container's size and digests, read once in order: a local
 * file from disk, a remote object streamed whole in one request through the
 * source that analysed it (so the ETag pinned for the analysis holds for the
 * digests too). `onBytes` sees the running total.
 */
export async function containerFacts(
  path: string,
  source: ByteSource,
  algorithms: readonly string[],
  onBytes: (done: number) => void = () => undefined,
): Promise<ContainerFacts> {
  const hashes = algorithms.map((a) => [a, createHash(a)] as const);
  let done = 0;
  const chunks: AsyncIterable<Uint8Array> = isHttpSource(source)
    ? source.streamObject()
    : createReadStream(path, { flags: "r", highWaterMark: 4 * 1024 * 1024 });
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

/** The custody record of a remote source (nothing for a local file). */
export function remoteFacts(source: ByteSource): Pick<ContainerFacts, "remote"> {
  if (!isHttpSource(source)) return {};
  return { remote: { url: source.name, etag: source.etag, lastModified: source.lastModified } };
}
