/**
 * Node-only helpers: open evidence files read-only and inflate with
 * `node:zlib`. Kept out of the main entry so the parser bundles for browsers.
 */
import { readSync } from "node:fs";
import { basename, dirname, isAbsolute, join } from "node:path";
import type { SectorCipher } from "./crypto/cipher.js";
import { legacyAes, unlockLuks } from "./crypto/node-luks.js";
import { Qcow2Error } from "./errors.js";
import { openEvidenceHandle } from "./host/evidence-handle.js";
import { closeFd, readFd, realpathOf } from "./host/fs-calls.js";
import type { Qcow2Info } from "./inspect.js";
import { readLuksHeader } from "./luks-header.js";
import { lazyZlib } from "./node-builtins.js";
import { nodeHttpTransport } from "./node-http-transport.js";
import type { BackingResolver, DataFileResolver } from "./reader/backing.js";
import type { Decompressor } from "./reader/decompress.js";
import { fflateDecompressor } from "./reader/decompress.js";
import { type OpenImageOptions, Qcow2Image } from "./reader/qcow2-image.js";
import { ZstdWorkerPool } from "./reader/zstd-worker-pool.js";
import { type RemoteResolveOptions, remoteAwareResolvers } from "./remote-resolve.js";
import type { ByteSource } from "./source/byte-source.js";
import { type HttpSourceOptions, httpSource } from "./source/http/http-source.js";
import { isHttpUrl } from "./source/http/redact.js";

/** A {@link ByteSource} over a file or block device opened read-only. */
export interface FileSource extends ByteSource {
  readonly path: string;
  /** True when `path` is a block device (a disk, partition, LVM volume, loop device). */
  readonly blockDevice: boolean;
  close(): Promise<void>;
}

/**
 * Reads up to this size are made synchronously even through the async
 * `read`/`readInto`: a header, a table, a cluster take microseconds from the
 * page cache, and a round trip through libuv's thread pool costs more (0.1–0.5
 * ms on the bench machine; opening each layer of a chain makes several).
 * Larger reads go through the thread pool, where they overlap with the
 * caller's work.
 */
const SYNC_READ_MAX = 64 * 1024;

/**
 * Opens `path` read-only as a {@link ByteSource}: a regular file, or a block
 * device (a disk, a partition, an LVM logical volume, a loop device) read
 * whole. Directories, missing and unreadable files end in a typed `IO` error
 * naming the path; FIFOs, sockets and character devices in `SPECIAL_FILE`,
 * at once and without waiting on them.
 *
 * @example
 * ```ts
 * const source = await openFileSource("evidence/disk.qcow2"); // or "/dev/ovirt-vg/3f2a…"
 * try { console.log(await inspect(source)); } finally { await source.close(); }
 * ```
 */
export async function openFileSource(path: string): Promise<FileSource> {
  const { fd, size, blockDevice, identity } = await openEvidenceHandle(path);
  let closed = false;
  const readIntoSync = (target: Uint8Array, position: number): number => {
    if (closed) throw new Qcow2Error("IO", "read after close", { file: path });
    const want = Math.max(0, Math.min(target.length, size - position));
    let filled = 0;
    while (filled < want) {
      const n = readSync(fd, target, filled, want - filled, position + filled);
      if (n === 0) break;
      filled += n;
    }
    return filled;
  };
  return {
    path,
    name: path,
    size,
    blockDevice,
    identity,
    async read(position: number, length: number): Promise<Uint8Array> {
      if (closed) throw new Qcow2Error("IO", "read after close", { file: path });
      const want = Math.max(0, Math.min(length, size - position));
      const buffer = new Uint8Array(want);
      if (want <= SYNC_READ_MAX) {
        const n = readIntoSync(buffer, position);
        return n === want ? buffer : buffer.subarray(0, n);
      }
      let filled = 0;
      while (filled < want) {
        const bytesRead = await readFd(fd, buffer, filled, want - filled, position + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return filled === want ? buffer : buffer.subarray(0, filled);
    },
    readIntoSync,
    async readInto(target: Uint8Array, position: number): Promise<number> {
      if (closed) throw new Qcow2Error("IO", "read after close", { file: path });
      const want = Math.max(0, Math.min(target.length, size - position));
      if (want <= SYNC_READ_MAX) return readIntoSync(target, position);
      let filled = 0;
      while (filled < want) {
        const bytesRead = await readFd(fd, target, filled, want - filled, position + filled);
        if (bytesRead === 0) break;
        filled += bytesRead;
      }
      return filled;
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      await closeFd(fd);
    },
  };
}

/**
 * Raw inflate through `node:zlib`: native, on libuv's thread pool, so the
 * clusters of one read inflate in parallel. Asynchronous only.
 */
export const zlibDecompressor = {
  inflateRawAsync(input: Uint8Array, outputSize: number): Promise<Uint8Array> {
    const { inflateRaw, constants: zlibConstants } = lazyZlib();
    return new Promise((resolve, reject) => {
      inflateRaw(
        input,
        {
          finishFlush: zlibConstants.Z_SYNC_FLUSH,
          maxOutputLength: outputSize,
          // One output buffer for the whole cluster: fewer round trips to the thread pool.
          chunkSize: Math.max(outputSize, zlibConstants.Z_MIN_CHUNK),
        },
        (error, out) => {
          if (error) {
            // More output than one cluster: QEMU keeps the first cluster's worth.
            if ((error as { code?: string }).code === "ERR_BUFFER_TOO_LARGE") {
              resolve(fflateDecompressor.inflateRawAsync(input, outputSize));
              return;
            }
            reject(error);
            return;
          }
          if (out.length !== outputSize) {
            reject(
              new Error(`deflate stream produced ${out.length} bytes, expected ${outputSize}`),
            );
            return;
          }
          resolve(new Uint8Array(out.buffer, out.byteOffset, out.length));
        },
      );
    });
  },
} satisfies Decompressor;

/** Where {@link openImage} looks for backing and external data files. */
export interface FileResolveOptions {
  /**
   * Look for backing files in this folder only (by their recorded relative
   * path, then by base name) instead of next to the image — for evidence
   * copied away from the host whose absolute paths it records.
   */
  backingDir?: string;
  /** Passphrase of an encrypted image (LUKS or legacy AES), as bytes. */
  passphrase?: Uint8Array;
}

/** The first of `candidates` that exists, open, with the candidate it was found by. */
async function openExisting(
  candidates: string[],
  code: "BACKING_NOT_FOUND" | "DATA_FILE_NOT_FOUND",
  what: string,
): Promise<{ source: FileSource; foundAs: string }> {
  for (const candidate of candidates) {
    try {
      // The real path names the file, so a chain that loops through links is caught.
      return { source: await openFileSource(await realpathOf(candidate)), foundAs: candidate };
    } catch (e) {
      const missing =
        (e as { code?: string }).code === "ENOENT" ||
        /no such file/.test(String((e as Error).message));
      if (!missing) throw e;
    }
  }
  throw new Qcow2Error(code, `${what} not found (looked for ${candidates.join(", ")})`, {
    value: what,
  });
}

/**
 * Resolves backing names as QEMU does — relative to the referring image's
 * folder, absolute names as they are — or only inside `backingDir`.
 *
 * "The referring image's folder" is the folder of the path the image was
 * found by, as QEMU combines names, not of the file a symlink leads to: a
 * chain of LVM volumes named `/dev/<vg>/<lv>` (links to `/dev/dm-N`) is
 * looked up in `/dev/<vg>/` all the way down.
 */
export function fileBackingResolver(options: FileResolveOptions = {}): BackingResolver {
  // Each opened backing file's real path (its source name, the next referrer) → the path it was found by.
  const foundBy = new Map<string, string>();
  return async ({ name, referrer }) => {
    const dir = options.backingDir;
    const base = foundBy.get(referrer) ?? referrer;
    const candidates =
      dir === undefined
        ? [isAbsolute(name) ? name : join(dirname(base), name)]
        : [...(isAbsolute(name) ? [] : [join(dir, name)]), join(dir, basename(name))];
    const { source, foundAs } = await openExisting(
      [...new Set(candidates)],
      "BACKING_NOT_FOUND",
      `backing file ${JSON.stringify(name)}`,
    );
    foundBy.set(source.name, foundAs);
    return source;
  };
}

/** Resolves an external data file name relative to the image's folder (absolute names as they are). */
export const fileDataFileResolver: DataFileResolver = async (name, referrer) =>
  (
    await openExisting(
      [isAbsolute(name) ? name : join(dirname(referrer), name)],
      "DATA_FILE_NOT_FOUND",
      `external data file ${JSON.stringify(name)}`,
    )
  ).source;

/** Where evidence comes from: a local path, or an `http(s)://` URL and how to fetch it. */
export interface EvidenceOpenOptions extends FileResolveOptions {
  /** Options for every image of the chain opened over HTTP(S) (headers, timeouts, shared stats). */
  http?: HttpSourceOptions;
}

/**
 * Opens evidence read-only: an `http://` or `https://` URL through
 * {@link httpSource}, anything else as a local file ({@link openFileSource}).
 *
 * @example
 * ```ts
 * const source = await openEvidenceSource("https://evidence.example/disk.qcow2", {
 *   http: { headers: { Authorization: "Bearer …" } },
 * });
 * ```
 */
export async function openEvidenceSource(
  pathOrUrl: string,
  options: { http?: HttpSourceOptions } = {},
): Promise<ByteSource & { close(): Promise<void> }> {
  if (isHttpUrl(pathOrUrl)) return httpSource(pathOrUrl, withNodeTransport(options.http));
  return openFileSource(pathOrUrl);
}

/** `node:http` unless the caller chose a `fetch` or a transport of their own. */
function withNodeTransport(http: HttpSourceOptions = {}): HttpSourceOptions {
  return http.fetch !== undefined || http.transport !== undefined
    ? http
    : { ...http, transport: nodeHttpTransport };
}

/**
 * The backing and data file resolvers for the image at `top` (a path or a
 * URL): local names as {@link fileBackingResolver} finds them; names recorded
 * by a remote image against its URL (absolute paths stay local, as in QEMU;
 * `backingDir` stays a local folder).
 */
export function evidenceResolvers(
  top: string,
  options: EvidenceOpenOptions = {},
): { resolveBacking: BackingResolver; resolveDataFile: DataFileResolver } {
  const remote: RemoteResolveOptions = {
    ...(options.backingDir === undefined ? {} : { backingDir: options.backingDir }),
    ...(options.http === undefined ? {} : { http: options.http }),
  };
  if (remote.http !== undefined || isHttpUrl(top)) remote.http = withNodeTransport(remote.http);
  return remoteAwareResolvers(top, remote, {
    backing: fileBackingResolver(
      options.backingDir === undefined ? {} : { backingDir: options.backingDir },
    ),
    dataFile: fileDataFileResolver,
  });
}

/**
 * Opens the image at `path` (a file, or an `http(s)://` URL) read-only, with
 * its backing chain and external data file resolved next to it. Close it
 * with `image.close()`.
 *
 * @example
 * ```ts
 * const image = await openImage("overlay.qcow2", { backingDir: "/evidence/bases" });
 * const remote = await openImage("https://evidence.example/disk.qcow2", { http: { headers } });
 * ```
 */
export async function openImage(
  path: string,
  options: OpenImageOptions & EvidenceOpenOptions = {},
): Promise<Qcow2Image> {
  const source = await openEvidenceSource(path, options);
  try {
    return await Qcow2Image.open(source, {
      decompressor: zlibDecompressor,
      ...evidenceResolvers(path, options),
      zstd: zstdWorkers,
      ...(options.passphrase === undefined ? {} : { unlock: passphraseUnlock(options.passphrase) }),
      ...options,
    });
  } catch (e) {
    await source.close();
    throw e;
  }
}

/**
 * The zstd decoder {@link openImage} uses: worker threads, one WebAssembly
 * decoder each, started on the first zstd cluster read.
 */
export const zstdWorkers: ZstdWorkerPool = new ZstdWorkerPool();

export { EVIDENCE_OPEN_FLAGS } from "./host/evidence-handle.js";

/** A Node `Readable` over the virtual disk (back-pressure aware). */
export { toNodeReadable } from "./reader/node-readable.js";
export { ZstdWorkerPool, type ZstdWorkerPoolOptions } from "./reader/zstd-worker-pool.js";

/**
 * Unlocks LUKS (PBKDF2, anti-forensic merge, master-key digest check) and
 * legacy AES images with `passphrase`, using `node:crypto`.
 */
export function passphraseUnlock(
  passphrase: Uint8Array,
): (source: ByteSource, info: Qcow2Info) => Promise<SectorCipher> {
  return async (source, info) => {
    if (info.encryptionMethod === 1) return legacyAes(passphrase);
    const luks = await readLuksHeader(source, info);
    if (luks === null) {
      throw new Qcow2Error(
        "INVALID_STRUCTURE",
        "LUKS-encrypted image has no full-disk-encryption header extension",
        { field: "crypt_method" },
      );
    }
    return unlockLuks(source, luks, passphrase);
  };
}

export type { SectorCipher } from "./crypto/cipher.js";
export { legacyAes, unlockLuks } from "./crypto/node-luks.js";
export { blockDeviceSize } from "./host/block-device-size.js";
export { specialFileKind } from "./host/file-kind.js";
export { deviceWriteConflict } from "./host/storage-stack.js";
export { nodeHttpTransport } from "./node-http-transport.js";
