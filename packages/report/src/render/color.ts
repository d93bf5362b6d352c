/**
 * Decides whether to emit ANSI colour, following the FORCE_COLOR and NO_COLOR
 * (https://no-color.org) conventions:
 *
 * 1. `FORCE_COLOR` set: `"0"` or `"false"` turns colour off, any other value
 *    (including empty) turns it on — the same reading as Node's own `tty`.
 * 2. `NO_COLOR` set to a non-empty value: off.
 * 3. Otherwise: on only when the stream is a TTY.
 *
 * @example
 * ```ts
 * const color = shouldUseColor(process.stdout, process.env);
 * process.stdout.write(renderText(envelope, { color }));
 * ```
 */
export function shouldUseColor(
  stream: { isTTY?: boolean },
  env: Record<string, string | undefined>,
): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined) return force !== "0" && force.toLowerCase() !== "false";
  const noColor = env.NO_COLOR;
  if (noColor !== undefined && noColor !== "") return false;
  return stream.isTTY === true;
}
