// Paths, notes and evidence values can come straight from a hostile image
// (snapshot names, backing file names). Escaping C0/C1 controls and bidi
// overrides stops them from moving the cursor, recolouring the terminal or
// visually reordering text, and keeps every record on a single line.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Escapes C0/C1 control characters and bidi overrides as `\xNN`/`\uNNNN`,
 * so text from a hostile image prints on one line, inert.
 *
 * @example
 * ```ts
 * escapeForTerminal("snap\x1b[2J"); // "snap\\x1b[2J"
 * ```
 */
export function escapeForTerminal(text: string): string {
  return text.replace(UNSAFE, (ch) => {
    const code = ch.charCodeAt(0);
    if (ch === "\n") return "\\n";
    if (ch === "\r") return "\\r";
    if (ch === "\t") return "\\t";
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, "0")}`
      : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}
