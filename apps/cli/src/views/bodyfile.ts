import { escapeForTerminal } from "@x/report";
import type { DatedFact } from "./timeline.js";

// mactime splits a line at every "|" (there is no escape) and decodes %XX in
// every field: "|" and "%" are written as %XX, so mactime prints them as they
// were. Control characters (a line break would split the row) and bidi
// overrides are escaped as \xNN / \uNNNN, as on the terminal, and printed so.
const PIPE_OR_PERCENT = /[%|]/g;

function bodyName(fact: DatedFact): string {
  return escapeForTerminal(`${fact.path}:${fact.subject} (${fact.event})`).replace(
    PIPE_OR_PERCENT,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * A Sleuth Kit 3.x body file (`MD5|name|inode|mode_as_string|UID|GID|size|atime|mtime|ctime|crtime`),
 * one line per dated fact, for `mactime -b`.
 *
 * A fact has one time and a body line four slots; each slot gets that time.
 * The alternatives all break mactime: an empty field makes it drop the whole
 * line, and 0 (the body file's "no time") makes it print an extra row dated
 * `Xxx Xxx 00 0000 00:00:00` for the line. With four equal times mactime
 * prints exactly one row per event, flagged `macb`; the event itself is named
 * in the file-name column.
 */
export function renderBodyfile(facts: readonly DatedFact[]): string {
  return facts
    .map((f) => {
      const t = String(f.unixSecs);
      return `0|${bodyName(f)}|0|0|0|0|${f.size}|${t}|${t}|${t}|${t}\n`;
    })
    .join("");
}
