import { parentPort } from "node:worker_threads";
import { type AuditJob, runAuditJob } from "./audit-job.js";

// One worker thread: audits the images it is sent, one at a time.
parentPort?.on("message", async (message: { id: number; job: AuditJob }) => {
  // Pictures travel as plain data: a few kilobytes of run-length cells per map.
  const outcome = await runAuditJob(message.job);
  parentPort?.postMessage({ id: message.id, outcome });
});
