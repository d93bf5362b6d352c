import {
  type CheckReport,
  check,
  inspect,
  Qcow2Error,
  qemuCheckExitCode,
  toQemuCheckJson,
} from "@x/qcow2-core";
import { openFileSource } from "@x/qcow2-core/node";
import type { Command } from "commander";
import type { Io } from "../context.js";
import { hex, safe } from "../views/format.js";

/** qemu-img check's exit code for a format without checks (QCOW1). */
const EXIT_NO_CHECKS = 63;
/** qemu-img check's exit code when the check could not run. */
const EXIT_CHECK_FAILED = 1;

function percent(part: number, whole: number): string {
  return whole === 0 ? "0.00" : ((100 * part) / whole).toFixed(2);
}

/** The readable report: verdict, every problem with its host offset, the totals. */
export function renderCheckText(path: string, r: CheckReport): string {
  const lines: string[] = [];
  if (r.corruptions === 0 && r.leaks === 0 && r.checkErrors === 0) {
    lines.push(`${safe(path)}: no errors were found on the image.`);
  } else {
    const parts = [
      r.corruptions > 0 ? `${r.corruptions} corruption(s)` : "",
      r.leaks > 0 ? `${r.leaks} leaked cluster(s)` : "",
      r.checkErrors > 0 ? `${r.checkErrors} internal error(s) during the check` : "",
    ].filter(Boolean);
    lines.push(`${safe(path)}: ${parts.join(", ")}`);
  }
  for (const p of r.problems) {
    const at = p.hostOffset === undefined ? "" : `  @ host ${hex(p.hostOffset)}`;
    lines.push(
      `  ${p.corruption ? "corruption" : p.kind === "leak" ? "leak      " : "note      "}  ${safe(p.message)}${at}`,
    );
  }
  if (r.problemsTruncated) lines.push("  … more problems not listed (counts above are exact)");
  if (r.totalClusters > 0 && r.allocatedClusters > 0) {
    lines.push(
      `${r.allocatedClusters}/${r.totalClusters} = ${percent(r.allocatedClusters, r.totalClusters)}% allocated, ${percent(r.fragmentedClusters, r.allocatedClusters)}% fragmented, ${percent(r.compressedClusters, r.allocatedClusters)}% compressed clusters`,
    );
  }
  if (r.imageEndOffset > 0) lines.push(`Image end offset: ${r.imageEndOffset}`);
  return `${lines.join("\n")}\n`;
}

export async function runCheck(path: string, options: { json?: boolean }, io: Io): Promise<number> {
  const source = await openFileSource(path);
  let report: CheckReport;
  try {
    const info = await inspect(source);
    try {
      report = await check(source, info);
    } catch (e) {
      if (!(e instanceof Qcow2Error) || e.code === "IO") throw e;
      io.stderr.write(`qcow2-forensic: ${path}: ${e.message}\n`);
      return info.version === 1 ? EXIT_NO_CHECKS : EXIT_CHECK_FAILED;
    }
  } finally {
    await source.close();
  }
  io.stdout.write(
    options.json
      ? `${JSON.stringify(toQemuCheckJson(report, path), null, 4)}\n`
      : renderCheckText(path, report),
  );
  return qemuCheckExitCode(report);
}

export function registerCheck(program: Command, io: Io, setExit: (code: number) => void): void {
  program
    .command("check")
    .description(
      "recompute every reference count and compare with the stored ones, as qemu-img check does",
    )
    .argument("<image>", "QCOW2 image file (opened read-only)")
    .option("--json", "print the keys and values of `qemu-img check --output=json`")
    .addHelpText(
      "after",
      "\nExit codes (as qemu-img check): 0 clean, 2 corruptions, 3 leaks only, 1 the check could not complete, 63 format without checks (QCOW1).\n\nExamples:\n  $ qcow2-forensic check disk.qcow2\n  $ qcow2-forensic check --json disk.qcow2",
    )
    .action(async (path: string, options: { json?: boolean }) => {
      setExit(await runCheck(path, options, io));
    });
}
