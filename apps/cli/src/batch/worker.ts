import { parentPort } from "node:worker_threads";
import { buildImageReport } from "@x/report";
import { describeError } from "../errors.js";
import { type AuditJob, runAuditJob } from "./audit-job.js";

// One worker thread: audits the images it is sent, one at a time. Whatever
// goes wrong becomes that image's error, so the batch always gets an answer.
parentPort?.on("message", async (message: { id: number; job: AuditJob }) => {
  // Pictures travel as plain data: a few kilobytes of run-length cells per map.
  let outcome: Awaited<ReturnType<typeof runAuditJob>>;
  try {
    outcome = await runAuditJob(message.job);
  } catch (e) {
    outcome = {
      report: buildImageReport(message.job.path, [], describeError(e, message.job.path)),
    };
  }
  parentPort?.postMessage({ id: message.id, outcome });
});
