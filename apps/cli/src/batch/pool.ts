import { Worker } from "node:worker_threads";
import { buildImageReport } from "@x/report";
import { describeError } from "../errors.js";
import { displayPath } from "../remote.js";
import { type AuditJob, type AuditJobHooks, type AuditOutcome, runAuditJob } from "./audit-job.js";

/**
 * Audits `jobs` on `threads` worker threads and hands each outcome to
 * `onReport` as soon as it is ready (completion order). With one thread or
 * one job it runs in this thread, and only then are `hooks` called. A worker that dies (an uncaught error, an
 * exit) costs only the image it was auditing, which is reported with the
 * error; the rest of the batch carries on in a fresh worker.
 */
export async function auditAll(
  jobs: readonly AuditJob[],
  threads: number,
  hooks: AuditJobHooks,
  onReport: (index: number, outcome: AuditOutcome) => void,
): Promise<void> {
  if (threads <= 1 || jobs.length <= 1) {
    const inThread = jobs.length === 1 ? hooks : {};
    for (const [i, job] of jobs.entries()) onReport(i, await runAuditJob(job, inThread));
    return;
  }
  const workerUrl = new URL("./audit-worker.js", import.meta.url);
  let next = 0;
  const live = new Set<Worker>();
  const lane = () =>
    new Promise<void>((done) => {
      let current = -1;
      const start = () => {
        const worker = new Worker(workerUrl);
        live.add(worker);
        let ended = false;
        const feed = () => {
          if (next >= jobs.length) {
            current = -1;
            ended = true;
            live.delete(worker);
            void worker.terminate();
            done();
            return;
          }
          current = next++;
          worker.postMessage({ id: current, job: jobs[current] });
        };
        const lost = (why: unknown) => {
          if (ended) return;
          ended = true;
          live.delete(worker);
          void worker.terminate();
          if (current >= 0) {
            const job = jobs[current] as AuditJob;
            const shown = displayPath(job.path);
            onReport(current, { report: buildImageReport(shown, [], describeError(why, shown)) });
          }
          if (next < jobs.length) start();
          else done();
        };
        worker.on("message", (m: { id: number; outcome: AuditOutcome }) => {
          onReport(m.id, m.outcome);
          feed();
        });
        worker.on("error", lost);
        worker.on("messageerror", lost);
        worker.on("exit", (code) => lost(new Error(`audit worker exited with code ${code}`)));
        feed();
      };
      start();
    });
  try {
    await Promise.all(Array.from({ length: Math.min(threads, jobs.length) }, lane));
  } finally {
    await Promise.all([...live].map((w) => w.terminate()));
  }
}
