/**
 * The file-system calls of the evidence path, as promises. `node:fs/promises`
 * is not loaded with Node: loading it brings readline, directory streams and
 * watchers, a few milliseconds of every short command's start-up; `node:fs`
 * is already there.
 *
 * Opening evidence (stat, open, fstat, realpath) makes its system calls
 * synchronously and answers them as settled promises: each is a metadata
 * call that takes microseconds, where a round trip through libuv's thread
 * pool took 0.1–0.5 ms on the bench machine — per layer of a backing chain,
 * several of them. Reads of any size go through the thread pool
 * ({@link readFd}) unless their caller reads synchronously on purpose.
 */
import * as fs from "node:fs";

type Callback<T> = (error: NodeJS.ErrnoException | null, value: T) => void;

function call<T>(start: (done: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) =>
    start((error, value) => (error ? reject(error) : resolve(value))),
  );
}

/** `f()` made now, as a settled promise (its error a rejection). */
function now<T>(f: () => T): Promise<T> {
  try {
    return Promise.resolve(f());
  } catch (e) {
    return Promise.reject(e);
  }
}

/** `open(2)` with `flags`; the descriptor must be given to {@link closeFd}. */
export const openFd = (path: string, flags: number): Promise<number> =>
  now(() => fs.openSync(path, flags));

export const closeFd = (fd: number): Promise<void> => now(() => fs.closeSync(fd));

/** Reads up to `length` bytes at `position` into `target[offset…]`; resolves to the count read. */
export const readFd = (
  fd: number,
  target: Uint8Array,
  offset: number,
  length: number,
  position: number,
): Promise<number> => call((done) => fs.read(fd, target, offset, length, position, done));

export const fstatBig = (fd: number): Promise<fs.BigIntStats> =>
  now(() => fs.fstatSync(fd, { bigint: true }));

export const statBig = (path: string): Promise<fs.BigIntStats> =>
  call((done) => fs.stat(path, { bigint: true }, done as Callback<fs.BigIntStats>));

export const statOf = (path: string): Promise<fs.Stats> => now(() => fs.statSync(path));

/** The path with every link resolved: one `realpath(3)`, not an `lstat` per component. */
export const realpathOf = (path: string): Promise<string> =>
  now(() => fs.realpathSync.native(path));

export const readText = (path: string): Promise<string> =>
  call((done) => fs.readFile(path, "utf8", done));

export const readdirOf = (path: string): Promise<string[]> =>
  call((done) => fs.readdir(path, done));
