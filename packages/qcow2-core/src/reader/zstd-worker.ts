/**
 * Worker thread body for {@link ZstdWorkerPool}: decodes a batch of zstd
 * frames per message with the WebAssembly decoder and sends the clusters back
 * in one message (transferred, not copied). Node-only; built as its own file.
 */
import { parentPort } from "node:worker_threads";
import { ZSTDDecoder } from "zstddec";

/** One compressed cluster to decode. */
export interface ZstdTask {
  id: number;
  frame: Uint8Array;
  outputSize: number;
}

/** The answer for one task: the cluster, or why it failed. */
export interface ZstdResult {
  id: number;
  out?: Uint8Array;
  error?: string;
}

const decoder = new ZSTDDecoder();
const ready = decoder.init();

parentPort?.on("message", async (tasks: ZstdTask[]) => {
  await ready;
  const results: ZstdResult[] = [];
  const transfer: ArrayBuffer[] = [];
  for (const { id, frame, outputSize } of tasks) {
    try {
      const out = decoder.decode(frame, outputSize);
      if (out.length !== outputSize)
        throw new Error(`zstd frame produced ${out.length} bytes, expected ${outputSize}`);
      results.push({ id, out });
      transfer.push(out.buffer as ArrayBuffer);
    } catch (e) {
      results.push({ id, error: e instanceof Error ? e.message : String(e) });
    }
  }
  parentPort?.postMessage(results, transfer);
});
