import type { ByteSource } from "../source/byte-source.js";

/** What a resolver is asked to open. */
export interface BackingRequest {
  /** The backing name as recorded in the referring image. */
  name: string;
  /** The recorded backing format (extension 0xE2792ACA), if any. */
  format: string | null;
  /** Name of the source that refers to it (its path, for file sources). */
  referrer: string;
  /** 1 for the top image's backing file, 2 for its backing, … */
  depth: number;
}

/**
 * Opens a backing file. The returned source's `name` identifies the file
 * (for files: its resolved path), which is how loops are detected. Throw a
 * `Qcow2Error` with code `BACKING_NOT_FOUND` when it does not exist.
 */
export type BackingResolver = (request: BackingRequest) => Promise<ByteSource>;

/** Opens an external data file named `name` by the image `referrer`. */
export type DataFileResolver = (name: string, referrer: string) => Promise<ByteSource>;

/** The formats a chain layer can have. */
export type LayerFormat = "qcow2" | "qcow" | "raw";

/** What the first bytes say the format is (QEMU probes the same way; raw is the fallback). */
export function probeFormat(head: Uint8Array): LayerFormat {
  if (head.length >= 8) {
    const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
    if (view.getUint32(0) === 0x514649fb) return view.getUint32(4) === 1 ? "qcow" : "qcow2";
  }
  return "raw";
}
