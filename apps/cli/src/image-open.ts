import { isQcow2Error, type Qcow2Image } from "@x/qcow2-core";
import { openImage } from "@x/qcow2-core/node";
import type { Command } from "commander";
import { type PassphraseOptions, readPassphrases, withPassphraseOptions } from "./passphrase.js";

/** Options every command that reads guest data shares. */
export interface ImageReadOptions extends PassphraseOptions {
  snapshot?: string;
  layerOnly?: boolean;
  backingDir?: string;
}

/** Adds --snapshot, --layer-only, --backing-dir and the passphrase options to a command. */
export function withImageReadOptions(command: Command): Command {
  return withPassphraseOptions(
    command
      .option("-s, --snapshot <id|name>", "read the disk as of this internal snapshot")
      .option(
        "--layer-only",
        "read this image alone: what its backing file would supply reads as zeros",
      )
      .option(
        "--backing-dir <dir>",
        "look for backing files only in this folder (by recorded path, then base name)",
      ),
  );
}

/**
 * Opens the image (read-only) and its chain as the options ask. With a
 * passphrase, the key is checked here, before anything is written.
 */
export async function openForReading(path: string, options: ImageReadOptions): Promise<Qcow2Image> {
  const base = {
    ...(options.snapshot === undefined ? {} : { snapshot: options.snapshot }),
    ...(options.layerOnly ? { layerOnly: true } : {}),
    ...(options.backingDir === undefined ? {} : { backingDir: options.backingDir }),
  };
  return openWithPassphrases(path, base, await readPassphrases(options));
}

/** Opens with each passphrase candidate in turn; a wrong one is BAD_PASSPHRASE. */
export async function openWithPassphrases(
  path: string,
  base: { snapshot?: string; layerOnly?: boolean; backingDir?: string },
  candidates: readonly Uint8Array[],
): Promise<Qcow2Image> {
  if (candidates.length === 0) return openImage(path, base);
  let last: unknown;
  for (const passphrase of candidates) {
    try {
      return await openImage(path, { ...base, passphrase });
    } catch (e) {
      if (!isQcow2Error(e) || e.code !== "BAD_PASSPHRASE") throw e;
      last = e;
    }
  }
  throw last;
}
