import { parentPort } from "node:worker_threads";
import { type AuditJob, runAuditJob } from "./audit-job.js";

// One worker thread: audits the images it is sent, one at a time.
parentPort?.on("message", async (message: { id: number; job: AuditJob }) => {
  const result = await runAuditJob(message.job);
  parentPort?.postMessage({ id: message.id, result });
});
