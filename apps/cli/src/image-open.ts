import type { Qcow2Image } from "@x/qcow2-core";
import { openImage } from "@x/qcow2-core/node";
import type { Command } from "commander";

/** Options every command that reads guest data shares. */
export interface ImageReadOptions {
  snapshot?: string;
  layerOnly?: boolean;
  backingDir?: string;
}

/** Adds --snapshot, --layer-only and --backing-dir to a command. */
export function withImageReadOptions(command: Command): Command {
  return command
    .option("-s, --snapshot <id|name>", "read the disk as of this internal snapshot")
    .option(
      "--layer-only",
      "read this image alone: what its backing file would supply reads as zeros",
    )
    .option(
      "--backing-dir <dir>",
      "look for backing files only in this folder (by recorded path, then base name)",
    );
}

/** Opens the image (read-only) and its chain as the options ask. */
export function openForReading(path: string, options: ImageReadOptions): Promise<Qcow2Image> {
  return openImage(path, {
    ...(options.snapshot === undefined ? {} : { snapshot: options.snapshot }),
    ...(options.layerOnly ? { layerOnly: true } : {}),
    ...(options.backingDir === undefined ? {} : { backingDir: options.backingDir }),
  });
}
