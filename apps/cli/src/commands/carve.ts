import { createHash } from "node:crypto";
import { mkdir, open, readdir, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { check, readExact } from "@x/qcow2-core";
import { carveRuns } from "@x/qcow2-forensic";
import type { Command } from "commander";
import { type Io, TOOL } from "../context.js";
import { CliError, EXIT } from "../exit.js";
import { openEvidence } from "../image-open.js";
import { startProgress } from "../progress.js";
import { displayPath, type RemoteOptions, withRemoteOptions } from "../remote.js";

/** Run bytes are copied in slices of this size, so a long run never sits in memory whole. */
const SLICE = 4 * 1024 * 1024;

export async function runCarve(
  path: string,
  dir: string,
  options: { quiet?: boolean } & RemoteOptions,
  io: Io,
): Promise<number> {
  await mkdir(dir, { recursive: true });
  if ((await readdir(dir)).length > 0)
    throw new CliError(`${dir}: output folder is not empty`, EXIT.usage);
  const source = await openEvidence(path, options);
  const manifest: Array<{
    file: string;
    offset: number;
    length: number;
    sha256: string;
    reason: string;
    clusters: number;
  }> = [];
  try {
    const report = await check(source);
    const runs = carveRuns(report);
    const total = runs.reduce((n, r) => n + Math.min(r.length, source.size - r.offset), 0);
    const progress = startProgress(io, "carve", total, options.quiet);
    let done = 0;
    for (const run of runs) {
      const length = Math.min(run.length, source.size - run.offset);
      const file = `host-0x${run.offset.toString(16).padStart(12, "0")}-${run.reason}.bin`;
      const hash = createHash("sha256");
      const partial = join(dir, `.${file}.partial`);
      const out = await open(partial, "wx");
      try {
        for (let at = 0; at < length; at += SLICE) {
          const bytes = await readExact(
            source,
            run.offset + at,
            Math.min(SLICE, length - at),
            "carved cluster",
          );
          hash.update(bytes);
          await out.write(bytes);
          done += bytes.length;
          progress.update(done);
        }
      } finally {
        await out.close();
      }
      await rename(partial, join(dir, file));
      manifest.push({
        file,
        offset: run.offset,
        length,
        sha256: hash.digest("hex"),
        reason: run.reason,
        clusters: run.clusters,
      });
    }
    progress.finish();
    const doc = {
      tool: { name: TOOL.name, version: TOOL.version },
      image: displayPath(path),
      clusterSize: report.clusterSize,
      leakedClusters: report.leaks,
      orphanedClusters: report.orphanedClusters.length,
      runs: manifest,
    };
    await writeFile(join(dir, "manifest.json"), `${JSON.stringify(doc, null, 2)}\n`, {
      flag: "wx",
    });
  } finally {
    await source.close();
  }
  io.stdout.write(
    `${manifest.length} run(s) carved to ${dir} (manifest.json lists offset, length, SHA-256 and reason)\n`,
  );
  return EXIT.ok;
}

export function registerCarve(program: Command, io: Io, setExit: (code: number) => void): void {
  withRemoteOptions(program.command("carve"))
    .description(
      "write the contents of leaked and orphaned clusters (one file per contiguous run) and a manifest",
    )
    .argument("<image>", "QCOW2 image file or http(s):// URL (opened read-only)")
    .argument("<dir>", "output folder (created; must be empty)")
    .option("-q, --quiet", "no progress bar")
    .addHelpText(
      "after",
      "\nExamples:\n  $ qcow2-forensic carve disk.qcow2 carved/\n  $ jq '.runs[] | {offset, reason, sha256}' carved/manifest.json\n  $ qcow2-forensic carve -H 'Authorization: Bearer …' https://evidence.example/case-7/disk.qcow2 carved/",
    )
    .action(async (path: string, dir: string, options: { quiet?: boolean } & RemoteOptions) => {
      setExit(await runCarve(path, dir, options, io));
    });
}
