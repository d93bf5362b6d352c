import {
  type CheckReport,
  check,
  inspect,
  isQcow2Error,
  Qcow2Error,
  type Qcow2ErrorCode,
  type Qcow2Info,
  qemuCheckExitCode,
  qemuOpenRefusal,
  toQemuCheckJson,
} from "@x/qcow2-core";
import type { Command } from "commander";
import type { Io } from "../context.js";
import { openEvidence, openWithPassphrases } from "../image-open.js";
import { type PassphraseOptions, readPassphrases, withPassphraseOptions } from "../passphrase.js";
import { displayPath, httpOptions, type RemoteOptions, withRemoteOptions } from "../remote.js";
import { hex, safe } from "../views/format.js";

/** What `check` takes. */
export interface CheckOptions extends PassphraseOptions, RemoteOptions {
  json?: boolean;
  metadataOnly?: boolean;
  backingDir?: string;
}

/**
 * Failures to open the image that make qemu-img check give up before
 * checking: its backing chain, its external data file, its encryption key.
 */
const OPEN_FAILURES: ReadonlySet<Qcow2ErrorCode> = new Set<Qcow2ErrorCode>([
  "BACKING_NOT_FOUND",
  "BACKING_UNREADABLE",
  "BACKING_LOOP",
  "BACKING_TOO_DEEP",
  "DATA_FILE_NOT_FOUND",
  "PASSPHRASE_REQUIRED",
  "BAD_PASSPHRASE",
]);

/**
 * Opens the image as qemu-img check does (chain, data file, key) and answers
 * why that failed, or null. The check itself reads only the file's metadata.
 */
async function openFailure(
  path: string,
  info: Qcow2Info,
  options: CheckOptions,
): Promise<Qcow2Error | null> {
  const passphrases = await readPassphrases(options);
  try {
    const image = await openWithPassphrases(
      path,
      {
        ...(options.backingDir === undefined ? {} : { backingDir: options.backingDir }),
        http: httpOptions(options),
      },
      passphrases,
    );
    await image.close();
    return null;
  } catch (e) {
    if (isQcow2Error(e) && OPEN_FAILURES.has(e.code)) return e;
    // qemu-img check opens in check mode, which lets through some headers the
    // reader refuses; it still needs the key of an encrypted image.
    if (
      info.encryptionMethod !== 0 &&
      passphrases.length === 0 &&
      qemuOpenRefusal(info, "check") === null
    )
      return new Qcow2Error(
        "PASSPHRASE_REQUIRED",
        "the image is encrypted: qemu-img check needs its key (--passphrase-file)",
      );
    // Anything else the metadata check meets and reports itself.
    return null;
  }
}

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

/**
 * qemu-img check probes the format first: a file that is not QCOW (bad
 * magic, too short, version 0) is raw to it, which has no check (exit 63);
 * a QCOW header QEMU cannot open ends the check with exit 1.
 */
function notOpened(e: Qcow2Error, path: string, io: Io): number {
  const raw =
    e.code === "BAD_MAGIC" ||
    e.code === "FILE_TOO_SMALL" ||
    (e.code === "UNSUPPORTED_VERSION" && e.value === "0");
  io.stderr.write(
    raw
      ? `qcow2-forensic: ${path}: ${e.message}; qemu-img would read it as raw, which has no check\n`
      : `qcow2-forensic: ${path}: ${e.message}\n`,
  );
  return raw ? EXIT_NO_CHECKS : EXIT_CHECK_FAILED;
}

export async function runCheck(path: string, options: CheckOptions, io: Io): Promise<number> {
  const source = await openEvidence(path, options);
  const shown = displayPath(path);
  let report: CheckReport;
  try {
    let info: Awaited<ReturnType<typeof inspect>>;
    try {
      info = await inspect(source);
    } catch (e) {
      if (!(e instanceof Qcow2Error) || e.code === "IO") throw e;
      return notOpened(e, shown, io);
    }
    if (!options.metadataOnly) {
      const failure = await openFailure(path, info, options);
      if (failure !== null) {
        io.stderr.write(
          `qcow2-forensic: ${shown}: ${failure.message}\n` +
            "qcow2-forensic: like qemu-img check, the image must open before it is checked; --metadata-only checks this file's own metadata without its backing chain or key\n",
        );
        return EXIT_CHECK_FAILED;
      }
    }
    try {
      report = await check(source, info);
    } catch (e) {
      if (!(e instanceof Qcow2Error) || e.code === "IO") throw e;
      io.stderr.write(`qcow2-forensic: ${shown}: ${e.message}\n`);
      const noChecks = e.message === "This image format does not support checks";
      return noChecks ? EXIT_NO_CHECKS : EXIT_CHECK_FAILED;
    }
  } finally {
    await source.close();
  }
  io.stdout.write(
    options.json
      ? `${JSON.stringify(toQemuCheckJson(report, shown), null, 4)}\n`
      : renderCheckText(shown, report),
  );
  return qemuCheckExitCode(report);
}

export function registerCheck(program: Command, io: Io, setExit: (code: number) => void): void {
  const command = program
    .command("check")
    .description(
      "recompute every reference count and compare with the stored ones, as qemu-img check does",
    )
    .argument("<image>", "QCOW2 image file or http(s):// URL (opened read-only)")
    .option("--json", "print the keys and values of `qemu-img check --output=json`")
    .option(
      "--metadata-only",
      "check this file's own metadata even when its backing chain, data file or key is not at hand",
    )
    .option(
      "--backing-dir <dir>",
      "look for backing files only in this local folder (by recorded path, then base name)",
    );
  withRemoteOptions(withPassphraseOptions(command))
    .addHelpText(
      "after",
      "\nAs qemu-img check does, the image is opened first: a missing backing file or data file, or an encrypted image without its passphrase, ends the check with exit code 1. The check itself reads only this file's metadata, so --metadata-only runs it anyway.\n\nExit codes (as qemu-img check): 0 clean, 2 corruptions, 3 leaks only, 1 the check could not complete, 63 format without checks (QCOW1).\n\nExamples:\n  $ qcow2-forensic check disk.qcow2\n  $ qcow2-forensic check --json --passphrase-file key.txt encrypted.qcow2\n  $ qcow2-forensic check --metadata-only overlay-without-its-base.qcow2\n  $ qcow2-forensic check --json https://evidence.example/case-7/disk.qcow2   # moves only the metadata",
    )
    .action(async (path: string, options: CheckOptions) => {
      setExit(await runCheck(path, options, io));
    });
}
