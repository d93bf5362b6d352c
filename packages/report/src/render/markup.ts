import { escapeForTerminal } from "./escape.js";

// Lone surrogates and the non-characters U+FFFE/U+FFFF are not allowed in XML
// (a standalone SVG would not parse); they become U+FFFD.
const NOT_XML =
  /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]|[\ufffe\uffff]/g;
const SPECIAL = /[&<>"']/g;
const ENTITY: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * Escapes text for HTML and SVG/XML, in element content and in quoted
 * attribute values alike: markup characters become entities; control and
 * bidi characters become visible `\xNN`/`\uNNNN` escapes (as in the text
 * report), so a hostile name can neither inject markup nor reorder or hide
 * what is shown; characters XML forbids become U+FFFD.
 *
 * @example
 * ```ts
 * escapeMarkup('<img src=x onerror="alert(1)">'); // "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;"
 * ```
 */
export function escapeMarkup(text: string): string {
  return escapeForTerminal(text)
    .replace(NOT_XML, "\ufffd")
    .replace(SPECIAL, (ch) => ENTITY[ch] as string);
}

/**
 * At most `max` UTF-16 units of `text`, never splitting a surrogate pair,
 * with an ellipsis when cut.
 *
 * @example
 * ```ts
 * clip("a-very-long-snapshot-name", 10); // "a-very-lo…"
 * ```
 */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = Math.max(0, max - 1);
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end--;
  return `${text.slice(0, end)}…`;
}

/** Bytes `text` takes in UTF-8 (for size budgets), without encoding it. */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
