import {
  type ByteSource,
  type HttpSourceOptions,
  isQcow2Error,
  type Qcow2Image,
} from "@x/qcow2-core";
import { openEvidenceSource, openImage } from "@x/qcow2-core/node";
import type { Command } from "commander";
import { type PassphraseOptions, readPassphrases, withPassphraseOptions } from "./passphrase.js";
import { httpOptions, type RemoteOptions, withRemoteOptions } from "./remote.js";

/**
 * Options every command that reads guest data shares. New commands that take
 * an image get URLs, `--header` and passphrases by using these and
 * {@link openForReading} (or {@link openEvidence} for the file alone).
 */
export interface ImageReadOptions extends PassphraseOptions, RemoteOptions {
  snapshot?: string;
  layerOnly?: boolean;
  backingDir?: string;
}

/** Adds --snapshot, --layer-only, --backing-dir, --header and the passphrase options to a command. */
export function withImageReadOptions(command: Command): Command {
  return withRemoteOptions(
    withPassphraseOptions(
      command
        .option("-s, --snapshot <id|name>", "read the disk as of this internal snapshot")
        .option(
          "--layer-only",
          "read this image alone: what its backing file would supply reads as zeros",
        )
        .option(
          "--backing-dir <dir>",
          "look for backing files only in this local folder (by recorded path, then base name)",
        ),
    ),
  );
}

/** What {@link openWithPassphrases} passes on to the opener. */
export interface OpenBase {
  snapshot?: string;
  layerOnly?: boolean;
  backingDir?: string;
  http?: HttpSourceOptions;
}

/**
 * Opens the image (a file or an http(s) URL, read-only) and its chain as the
 * options ask. With a passphrase, the key is checked here, before anything is
 * written.
 */
export async function openForReading(path: string, options: ImageReadOptions): Promise<Qcow2Image> {
  return openWithPassphrases(path, openBase(options), await readPassphrases(options));
}

/** The opener's options from a command's. */
export function openBase(options: ImageReadOptions): OpenBase {
  return {
    ...(options.snapshot === undefined ? {} : { snapshot: options.snapshot }),
    ...(options.layerOnly ? { layerOnly: true } : {}),
    ...(options.backingDir === undefined ? {} : { backingDir: options.backingDir }),
    http: httpOptions(options),
  };
}

/** Opens with each passphrase candidate in turn; a wrong one is BAD_PASSPHRASE. */
export async function openWithPassphrases(
  path: string,
  base: OpenBase,
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

/** Opens the evidence file itself (a path or an http(s) URL), read-only, without its chain. */
export function openEvidence(
  path: string,
  options: RemoteOptions,
): Promise<ByteSource & { close(): Promise<void> }> {
  return openEvidenceSource(path, { http: httpOptions(options) });
}
