import { isQcow2Error, Qcow2Error } from "../errors.js";
import { inspect, type Qcow2Info } from "../inspect.js";
import { LIMITS } from "../limits.js";
import { type ByteSource, readSafely } from "../source/byte-source.js";
import {
  type BackingRequest,
  type BackingResolver,
  type LayerFormat,
  probeFormat,
} from "./backing.js";

/** One backing file of a chain, found by name (its data is not read). */
export interface ChainLink {
  /** 1 for the top image's backing file, 2 for its backing, … */
  depth: number;
  /** The name as recorded by the referring image. */
  name: string;
  /** The format recorded with it, if any. */
  recordedFormat: string | null;
  /** The image that names it. */
  referrer: string;
  /** Host offset of the name inside the referrer. */
  nameOffset: number;
  /** The opened source (owned by whoever walked the chain). */
  source: ByteSource;
  format: LayerFormat;
  /** Header facts, for QCOW images. */
  info: Qcow2Info | null;
}

/** How a walk ended. */
export type ChainOutcome =
  | { kind: "complete" }
  | { kind: "missing"; error: Qcow2Error; name: string; depth: number }
  | { kind: "loop"; error: Qcow2Error; name: string; depth: number }
  | { kind: "too-deep"; error: Qcow2Error; depth: number }
  | { kind: "unreadable"; error: Qcow2Error; name: string; depth: number };

export interface ChainWalk {
  links: ChainLink[];
  outcome: ChainOutcome;
}

/**
 * Follows backing-file names from `top` down to the base, opening each file
 * through `resolver` and reading only its header. Stops at a missing or
 * unreadable file, a loop (a file already in the chain) or `maxDepth`, and
 * says which. The caller closes the links' sources.
 */
export async function walkBackingChain(
  top: Qcow2Info,
  topName: string,
  resolver: BackingResolver | undefined,
  maxDepth: number = LIMITS.maxBackingDepth,
): Promise<ChainWalk> {
  const links: ChainLink[] = [];
  const seen = new Set([topName]);
  let info: Qcow2Info | null = top;
  let referrer = topName;
  for (let depth = 1; info?.backingFile; depth++) {
    const ref = info.backingFile;
    const name = ref.name ?? "";
    const stop = (kind: "missing" | "unreadable", error: Qcow2Error): ChainWalk => ({
      links,
      outcome: { kind, error, name, depth },
    });
    if (name === "") {
      return stop(
        "unreadable",
        new Qcow2Error("BACKING_UNREADABLE", "the backing file name could not be read", {
          field: "backing_file_offset",
          file: referrer,
        }),
      );
    }
    if (depth > maxDepth) {
      const error = new Qcow2Error(
        "BACKING_TOO_DEEP",
        `backing chain is deeper than ${maxDepth} images`,
        { field: "backing_file", value: name, file: referrer },
      );
      return { links, outcome: { kind: "too-deep", error, depth } };
    }
    if (resolver === undefined) {
      return stop(
        "missing",
        new Qcow2Error(
          "BACKING_NOT_FOUND",
          `no resolver to open backing file ${JSON.stringify(name)}`,
          { field: "backing_file", value: name, file: referrer },
        ),
      );
    }
    const request: BackingRequest = { name, format: info.backingFormat, referrer, depth };
    let source: ByteSource;
    try {
      source = await resolver(request);
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      const code =
        isQcow2Error(e) &&
        ((e as Qcow2Error).code === "BACKING_NOT_FOUND" || /no such file/.test(reason))
          ? "BACKING_NOT_FOUND"
          : "BACKING_UNREADABLE";
      const error = new Qcow2Error(
        code,
        isQcow2Error(e) && (e as Qcow2Error).code === code
          ? reason
          : `backing file ${JSON.stringify(name)}: ${reason}`,
        {
          field: "backing_file",
          value: name,
          file: referrer,
          cause: e,
        },
      );
      return stop(code === "BACKING_NOT_FOUND" ? "missing" : "unreadable", error);
    }
    if (seen.has(source.name)) {
      await source.close?.();
      const error = new Qcow2Error(
        "BACKING_LOOP",
        `backing chain loops: ${JSON.stringify(name)} (${source.name}) is already in the chain`,
        {
          field: "backing_file",
          value: name,
          file: referrer,
        },
      );
      return { links, outcome: { kind: "loop", error, name, depth } };
    }
    seen.add(source.name);
    let format: LayerFormat;
    try {
      format = await chooseFormat(source, info.backingFormat, name);
      info = format === "raw" ? null : await inspect(source);
    } catch (e) {
      await source.close?.();
      const reason = e instanceof Error ? e.message : String(e);
      const error =
        isQcow2Error(e) && (e as Qcow2Error).code === "UNSUPPORTED_FEATURE"
          ? (e as Qcow2Error)
          : new Qcow2Error(
              "BACKING_UNREADABLE",
              `backing file ${JSON.stringify(name)} cannot be read: ${reason}`,
              { field: "backing_file", value: name, file: referrer, cause: e },
            );
      return stop("unreadable", error);
    }
    links.push({
      depth,
      name,
      recordedFormat: request.format,
      referrer,
      nameOffset: ref.offset,
      source,
      format,
      info,
    });
    referrer = source.name;
  }
  return { links, outcome: { kind: "complete" } };
}

async function chooseFormat(
  source: ByteSource,
  recorded: string | null,
  name: string,
): Promise<LayerFormat> {
  const probed = probeFormat(await readSafely(source, 0, 8));
  if (recorded === null) return probed;
  if (recorded !== "qcow2" && recorded !== "qcow" && recorded !== "raw") {
    throw new Qcow2Error(
      "UNSUPPORTED_FEATURE",
      `backing file ${JSON.stringify(name)} has format ${recorded}, which is not readable`,
      {
        field: "backing_format",
        value: recorded,
      },
    );
  }
  // QEMU honours a recorded raw format even over a QCOW magic.
  if (recorded !== "raw" && probed !== recorded) {
    throw new Qcow2Error(
      "BACKING_UNREADABLE",
      `backing file ${JSON.stringify(name)} is recorded as ${recorded} but is ${probed}`,
      {
        field: "backing_format",
        value: recorded,
      },
    );
  }
  return recorded;
}
