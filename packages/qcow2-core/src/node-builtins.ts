/**
 * Node built-ins that only some commands need, loaded on first use. A short
 * command (`info` of one file) would otherwise pay at start-up for compiling
 * `node:http`, `node:https` (and TLS), `node:crypto`, `node:zlib` and
 * `node:worker_threads`, which Node does not keep precompiled: tens of
 * milliseconds, more than the command's own work.
 */
import { createRequire } from "node:module";

const load = createRequire(import.meta.url);

export const lazyHttp = (): typeof import("node:http") => load("node:http");
export const lazyHttps = (): typeof import("node:https") => load("node:https");
export const lazyCrypto = (): typeof import("node:crypto") => load("node:crypto");
export const lazyZlib = (): typeof import("node:zlib") => load("node:zlib");
export const lazyWorkerThreads = (): typeof import("node:worker_threads") =>
  load("node:worker_threads");
export const lazyNet = (): typeof import("node:net") => load("node:net");
