import { createHash, randomBytes } from "node:crypto";
import { open, rename, unlink } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { openVmState } from "@x/qcow2-core";
import { zlibDecompressor } from "@x/qcow2-core/node";
import type { Command } from "commander";
import type { Io } from "../context.js";
import { CliError, EXIT } from "../exit.js";
import { openEvidence } from "../image-open.js";
import { outputTarget } from "../output-target.js";
import { startProgress } from "../progress.js";
import { displayPath, type RemoteOptions, withRemoteOptions } from "../remote.js";

const CHUNK = 4 * 1024 * 1024;

type VmstateOptions = { snapshot: string; force?: boolean; quiet?: boolean } & RemoteOptions;

export async function runVmstate(
  path: string,
  out: string,
  options: VmstateOptions,
  io: Io,
): Promise<number> {
  // Written under a temporary name and renamed: never over a device node or a FIFO.
  await outputTarget(out, { force: options.force });
  const source = await openEvidence(path, options);
  let temp: string | undefined;
  try {
    const vm = await openVmState(source, options.snapshot, { decompressor: zlibDecompressor });
    if (vm.size === 0)
      throw new CliError(
        `${displayPath(path)}: snapshot ${options.snapshot} carries no VM state`,
        EXIT.unreadable,
      );
    const hash = createHash("sha256");
    const progress = startProgress(io, "vmstate", vm.size, options.quiet);
    if (out !== "-") {
      temp = join(
        dirname(resolve(out)),
        `.${basename(out)}.partial-${randomBytes(6).toString("hex")}`,
      );
    }
    const handle = temp === undefined ? null : await open(temp, "wx");
    try {
      for (let at = 0; at < vm.size; at += CHUNK) {
        const chunk = await vm.read(at, CHUNK);
        hash.update(chunk);
        if (handle === null) {
          if (!io.stdout.write(chunk))
            await new Promise<void>((done) => io.stdout.once("drain", () => done()));
        } else {
          await handle.write(chunk);
        }
        progress.update(at + chunk.length);
      }
    } finally {
      await handle?.close();
    }
    if (temp !== undefined) {
      await rename(temp, out);
      temp = undefined;
    }
    progress.finish();
    (out === "-" ? io.stderr : io.stdout).write(
      `SHA256 (${out}) = ${hash.digest("hex")}  [${vm.size} bytes of VM state from snapshot ${vm.snapshot.id} (${vm.snapshot.name})]\n`,
    );
  } finally {
    if (temp !== undefined) await unlink(temp).catch(() => undefined);
    await source.close();
  }
  return EXIT.ok;
}

export function registerVmstate(program: Command, io: Io, setExit: (code: number) => void): void {
  withRemoteOptions(program.command("vmstate"))
    .description(
      "write a snapshot's saved VM state (RAM and device state, QEMU's migration stream) for memory forensics",
    )
    .argument("<image>", "QCOW2 image file or http(s):// URL (opened read-only)")
    .argument("<out>", "output file, or - for stdout")
    .requiredOption("-s, --snapshot <id|name>", "the snapshot whose VM state to write")
    .option("-f, --force", "replace an existing output file")
    .option("-q, --quiet", "no progress bar")
    .addHelpText(
      "after",
      "\nExamples:\n  $ qcow2-forensic vmstate --snapshot 1 disk.qcow2 ram.qevm\n  $ qcow2-forensic vmstate -s before-update disk.qcow2 - | xxd | head\n  $ qcow2-forensic vmstate -s 1 https://evidence.example/case-7/disk.qcow2 ram.qevm",
    )
    .action(async (path: string, out: string, options: VmstateOptions) => {
      setExit(await runVmstate(path, out, options, io));
    });
}
