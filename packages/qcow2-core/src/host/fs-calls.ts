/**
 * The file-system calls of the evidence path, as promises over `node:fs`'s
 * callbacks. `node:fs/promises` is not loaded with Node: loading it brings
 * readline, directory streams and watchers, a few milliseconds of every
 * short command's start-up; `node:fs` is already there.
 */
import * as fs from "node:fs";

type Callback<T> = (error: NodeJS.ErrnoException | null, value: T) => void;

function call<T>(start: (done: Callback<T>) => void): Promise<T> {
  return new Promise((resolve, reject) =>
    start((error, value) => (error ? reject(error) : resolve(value))),
  );
}

/** `open(2)` with `flags`; the descriptor must be given to {@link closeFd}. */
export const openFd = (path: string, flags: number): Promise<number> =>
  call((done) => fs.open(path, flags, done));

export const closeFd = (fd: number): Promise<void> =>
  call<void>((done) => fs.close(fd, (e) => done(e, undefined)));

/** Reads up to `length` bytes at `position` into `target[offset…]`; resolves to the count read. */
export const readFd = (
  fd: number,
  target: Uint8Array,
  offset: number,
  length: number,
  position: number,
): Promise<number> => call((done) => fs.read(fd, target, offset, length, position, done));

export const fstatBig = (fd: number): Promise<fs.BigIntStats> =>
  call((done) => fs.fstat(fd, { bigint: true }, done as Callback<fs.BigIntStats>));

export const statBig = (path: string): Promise<fs.BigIntStats> =>
  call((done) => fs.stat(path, { bigint: true }, done as Callback<fs.BigIntStats>));

export const statOf = (path: string): Promise<fs.Stats> => call((done) => fs.stat(path, done));

export const realpathOf = (path: string): Promise<string> =>
  call((done) => fs.realpath(path, done));

export const readText = (path: string): Promise<string> =>
  call((done) => fs.readFile(path, "utf8", done));

export const readdirOf = (path: string): Promise<string[]> =>
  call((done) => fs.readdir(path, done));
