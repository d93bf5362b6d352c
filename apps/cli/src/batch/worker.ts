import { parentPort } from "node:worker_threads";
import { buildImageReport } from "@x/report";
import { describeError } from "../errors.js";
import { type AuditJob, type AuditResult, runAuditJob } from "./audit-job.js";

// One worker thread: audits the images it is sent, one at a time. Whatever
// goes wrong becomes that image's error, so the batch always gets an answer.
parentPort?.on("message", async (message: { id: number; job: AuditJob }) => {
  let result: AuditResult;
  try {
    result = await runAuditJob(message.job);
  } catch (e) {
    result = {
      report: buildImageReport(message.job.path, [], describeError(e, message.job.path)),
      guestTimes: [],
    };
  }
  parentPort?.postMessage({ id: message.id, result });
});
