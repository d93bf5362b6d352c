import { parentPort } from "node:worker_threads";
import { buildImageReport } from "@x/report";
import { describeError } from "../errors.js";
import { displayPath } from "../remote.js";
import { type AuditJob, runAuditJob } from "./audit-job.js";

// One worker thread: audits the images it is sent, one at a time. Whatever
// goes wrong becomes that image's error, so the batch always gets an answer.
parentPort?.on("message", async (message: { id: number; job: AuditJob }) => {
  // Pictures travel as plain data: a few kilobytes of run-length cells per map.
  let outcome: Awaited<ReturnType<typeof runAuditJob>>;
  try {
    outcome = await runAuditJob(message.job);
  } catch (e) {
    const shown = displayPath(message.job.path);
    outcome = { report: buildImageReport(shown, [], describeError(e, shown)) };
  }
  parentPort?.postMessage({ id: message.id, outcome });
});
