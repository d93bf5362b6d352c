import { isAbsolute } from "node:path";
import { isQcow2Error, Qcow2Error } from "./errors.js";
import type { BackingResolver, DataFileResolver } from "./reader/backing.js";
import type { ByteSource } from "./source/byte-source.js";
import { type HttpSourceOptions, httpSource } from "./source/http/http-source.js";
import { isHttpUrl, redactUrl } from "./source/http/redact.js";

/** How the images of one chain are found when its top may be a URL. */
export interface RemoteResolveOptions {
  /** Look for backing files only in this local folder, whether the image is local or remote. */
  backingDir?: string;
  /** Options for every source opened over HTTP(S); `headers` go to the top URL's origin only. */
  http?: HttpSourceOptions;
}

/** The local resolvers to fall back on. */
export interface LocalResolvers {
  backing: BackingResolver;
  dataFile: DataFileResolver;
}

/**
 * Backing and data file resolvers for a chain whose top is `top` (a path or
 * a URL). Names recorded by a remote image resolve as QEMU resolves them:
 * relative names against the referring image's URL, URLs as they are,
 * absolute paths as local files; `backingDir` keeps the search local. Names
 * recorded by a local image never reach the network.
 */
export function remoteAwareResolvers(
  top: string,
  options: RemoteResolveOptions,
  local: LocalResolvers,
): { resolveBacking: BackingResolver; resolveDataFile: DataFileResolver } {
  // Each remote source's name (what the chain walker hands back as `referrer`) → its URL.
  const urls = new Map<string, string>();
  const remoteTop = isHttpUrl(top);
  if (remoteTop) urls.set(options.http?.name ?? redactUrl(top), top);
  const origin = remoteTop ? new URL(top).origin : null;

  const openRemote = async (
    url: string,
    code: "BACKING_NOT_FOUND" | "DATA_FILE_NOT_FOUND",
    what: string,
  ): Promise<ByteSource> => {
    const { name: _topName, headers, ...rest } = options.http ?? {};
    // Credentials were given for the evidence's server, not for wherever an image points.
    const sameOrigin = new URL(url).origin === origin;
    try {
      const source = await httpSource(url, sameOrigin && headers ? { ...rest, headers } : rest);
      urls.set(source.name, url);
      return source;
    } catch (e) {
      if (isQcow2Error(e) && e.code === "HTTP_STATUS" && (e.value === "404" || e.value === "410"))
        // Worded as for a local file: a report reads the same wherever the evidence lives.
        throw new Qcow2Error(code, `${what} not found (looked for ${redactUrl(url)})`, {
          value: what,
          cause: e,
        });
      throw e;
    }
  };

  const resolveBacking: BackingResolver = async (request) => {
    const base = urls.get(request.referrer);
    const { name } = request;
    if (base === undefined || options.backingDir !== undefined) return local.backing(request);
    if (!isHttpUrl(name) && isAbsolute(name)) return local.backing(request);
    const url = isHttpUrl(name) ? name : new URL(name, base).href;
    return openRemote(url, "BACKING_NOT_FOUND", `backing file ${JSON.stringify(name)}`);
  };

  const resolveDataFile: DataFileResolver = async (name, referrer) => {
    const base = urls.get(referrer);
    if (base === undefined || (!isHttpUrl(name) && isAbsolute(name)))
      return local.dataFile(name, referrer);
    const url = isHttpUrl(name) ? name : new URL(name, base).href;
    return openRemote(url, "DATA_FILE_NOT_FOUND", `external data file ${JSON.stringify(name)}`);
  };

  return { resolveBacking, resolveDataFile };
}
