import {
  type HttpSourceOptions,
  isHttpUrl,
  newTransferStats,
  REDACTED,
  redactUrl,
} from "@x/qcow2-core";
import type { Command } from "commander";
import { CliError, EXIT } from "./exit.js";

/**
 * What every remote source of this run moved (one command per process, one
 * per worker thread): progress bars show it, and it adds up a whole chain.
 */
export const transfer = newTransferStats();

/** The option every command that takes an image has for images given as URLs. */
export interface RemoteOptions {
  header?: string[];
}

/** Adds the repeatable `--header 'Name: value'` to a command. */
export function withRemoteOptions(command: Command): Command {
  return command.option(
    "-H, --header <header>",
    "HTTP header 'Name: value' sent with requests for images given as http(s):// URLs (repeatable; values are never printed or recorded)",
    (value: string, previous: string[] = []) => [...previous, value],
  );
}

// RFC 9110 token characters.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Headers the range client sets itself. */
const RESERVED = new Set(["range", "accept-encoding"]);

/** Parses `--header` lines; a malformed one is a usage error that never repeats its value. */
export function parseHeaders(lines: readonly string[] | undefined): Array<[string, string]> {
  return (lines ?? []).map((line) => {
    const colon = line.indexOf(":");
    const name = colon < 0 ? "" : line.slice(0, colon).trim();
    if (!HEADER_NAME.test(name))
      throw new CliError("--header: expected 'Name: value' (the value is not shown)", EXIT.usage);
    if (RESERVED.has(name.toLowerCase()))
      throw new CliError(`--header: ${name} is set by the tool itself`, EXIT.usage);
    return [name, line.slice(colon + 1).trim()];
  });
}

/** The options for sources opened over HTTP(S) in this run. */
export function httpOptions(options: RemoteOptions): HttpSourceOptions {
  const headers = parseHeaders(options.header);
  return { ...(headers.length === 0 ? {} : { headers }), stats: transfer };
}

/** How a path or URL is shown in output, messages and reports (a URL's query string redacted). */
export function displayPath(pathOrUrl: string): string {
  return isHttpUrl(pathOrUrl) ? redactUrl(pathOrUrl) : pathOrUrl;
}

function redactHeader(line: string): string {
  const colon = line.indexOf(":");
  return colon < 0 ? REDACTED : `${line.slice(0, colon).trim()}: ${REDACTED}`;
}

/**
 * The command line as reports record it: header values and URL query
 * strings (and credentials) replaced by `REDACTED`.
 */
export function redactArgv(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--header" || arg === "-H") {
      out.push(arg);
      if (i + 1 < argv.length) out.push(redactHeader(argv[++i] as string));
    } else if (arg.startsWith("--header=")) {
      out.push(`--header=${redactHeader(arg.slice("--header=".length))}`);
    } else if (arg.startsWith("-H")) {
      out.push(`-H${redactHeader(arg.slice(2))}`);
    } else {
      out.push(isHttpUrl(arg) ? redactUrl(arg) : arg);
    }
  }
  return out;
}
