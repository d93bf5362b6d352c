import { Worker } from "node:worker_threads";
import { type AuditJob, type AuditResult, runAuditJob } from "./audit-job.js";

/**
 * Audits `jobs` on `threads` worker threads and hands each report to
 * `onReport` as soon as it is ready (completion order). With one thread or
 * one job it runs in this thread.
 */
export async function auditAll(
  jobs: readonly AuditJob[],
  threads: number,
  onReport: (index: number, result: AuditResult) => void,
): Promise<void> {
  if (threads <= 1 || jobs.length <= 1) {
    for (const [i, job] of jobs.entries()) onReport(i, await runAuditJob(job));
    return;
  }
  const workerUrl = new URL("./audit-worker.js", import.meta.url);
  let next = 0;
  const run = (worker: Worker) =>
    new Promise<void>((done, fail) => {
      const feed = () => {
        if (next >= jobs.length) {
          done();
          return;
        }
        const id = next++;
        worker.postMessage({ id, job: jobs[id] });
      };
      worker.on("message", (m: { id: number; result: AuditResult }) => {
        onReport(m.id, m.result);
        feed();
      });
      worker.on("error", fail);
      feed();
    });
  const workers = Array.from(
    { length: Math.min(threads, jobs.length) },
    () => new Worker(workerUrl),
  );
  try {
    await Promise.all(workers.map(run));
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
