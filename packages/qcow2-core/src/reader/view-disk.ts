import { Qcow2Error } from "../errors.js";
import { MAX_READ_LENGTH } from "./qcow2-image.js";
import { readChain } from "./read-chain.js";
import type { DiskView } from "./state.js";

/** A state's disk as a random-access byte range (what `@x/volumes` reads). */
export interface ViewDisk {
  readonly size: number;
  read(offset: number, length: number): Promise<Uint8Array>;
}

/**
 * The guest disk of a {@link DiskView} as `{ size, read }`: what a backing
 * file shows with everything under it, for readers that take any disk (the
 * partition and filesystem probes of `@x/volumes`). Reads past the end are
 * cut short, as a block device's are.
 *
 * @example
 * ```ts
 * const base = viewDisk(backingView(image, 1));
 * const sector0 = await base.read(0, 512);
 * ```
 */
export function viewDisk(view: DiskView): ViewDisk {
  const size = view.virtualSize;
  return {
    size,
    async read(offset: number, length: number): Promise<Uint8Array> {
      if (
        !Number.isSafeInteger(offset) ||
        offset < 0 ||
        !Number.isSafeInteger(length) ||
        length < 0
      )
        throw new Qcow2Error("OUT_OF_RANGE", `invalid read of ${length} bytes at ${offset}`);
      if (length > MAX_READ_LENGTH)
        throw new Qcow2Error(
          "LIMIT_EXCEEDED",
          `read of ${length} bytes exceeds ${MAX_READ_LENGTH}`,
        );
      const out = new Uint8Array(Math.max(0, Math.min(offset + length, size) - offset));
      if (out.length > 0) await readChain(view.layers, 0, out, offset);
      return out;
    },
  };
}
