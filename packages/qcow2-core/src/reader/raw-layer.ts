import { type ByteSource, readPadded } from "../source/byte-source.js";
import { sourceIdentity } from "../source/identity.js";
import type { GuestRange, Layer, LayerExtent, LayerIdentity, LayerStorage } from "./layer.js";

/**
 * A raw image (typically the base of a chain): guest offset = file offset,
 * every byte allocated. QEMU asks the filesystem for holes (SEEK_HOLE),
 * which Node cannot; holes are reported as data here (documented).
 */
export class RawLayer implements Layer {
  readonly format = "raw" as const;
  readonly name: string;
  readonly virtualSize: number;
  readonly identity: LayerIdentity;
  readonly granularity = 512;

  constructor(readonly source: ByteSource) {
    this.name = source.name;
    this.virtualSize = source.size;
    this.identity = { file: sourceIdentity(source), view: "raw" };
  }

  async storage(offset: number, maxLength: number): Promise<LayerStorage> {
    return this.storageSync(offset, maxLength);
  }

  storageSync(offset: number, maxLength: number): LayerStorage {
    const length = Math.max(1, Math.min(maxLength, this.virtualSize - offset));
    return { length, kind: "data", source: this.source, offset };
  }

  async readOwn(out: Uint8Array, offset: number): Promise<GuestRange[]> {
    out.set(await readPadded(this.source, offset, out.length));
    return [];
  }

  async status(offset: number, maxLength: number): Promise<LayerExtent> {
    const length = Math.max(1, Math.min(maxLength, this.virtualSize - offset));
    return { length, data: true, zero: false, offset, file: this.name };
  }

  async close(): Promise<void> {
    await this.source.close?.();
  }
}
