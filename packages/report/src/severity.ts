/**
 * How serious a finding is, from least to most.
 *
 * A finding may also be left unrated (no severity at all); that is deliberately
 * not a member of this union so "we did not judge this" can never be confused
 * with "we judged this harmless" (`"info"`).
 *
 * @example
 * ```ts
 * const s: Severity = "high";
 * ```
 */
export type Severity = "info" | "low" | "medium" | "high" | "critical";

/**
 * Every {@link Severity}, ordered ascending (least severe first).
 *
 * @example
 * ```ts
 * SEVERITIES[SEVERITIES.length - 1]; // "critical"
 * ```
 */
export const SEVERITIES: readonly Severity[] = Object.freeze([
  "info",
  "low",
  "medium",
  "high",
  "critical",
] as const);

const RANK: Readonly<Record<Severity, number>> = {
  info: 0,
  low: 1,
  medium: 2,
  high: 3,
  critical: 4,
};

/**
 * Orders two severities: negative when `a` is less severe than `b`, zero when
 * equal, positive when more severe. Suitable for `Array.prototype.sort`.
 *
 * @example
 * ```ts
 * ["high", "info", "medium"].sort(compareSeverity); // ["info", "medium", "high"]
 * compareSeverity("critical", "low") > 0; // true
 * ```
 */
export function compareSeverity(a: Severity, b: Severity): number {
  return RANK[a] - RANK[b];
}

/**
 * The most severe entry of `list`, or `undefined` when it is empty.
 *
 * @example
 * ```ts
 * maxSeverity(["low", "high", "info"]); // "high"
 * maxSeverity([]); // undefined
 * ```
 */
export function maxSeverity(list: Iterable<Severity>): Severity | undefined {
  let max: Severity | undefined;
  for (const s of list) {
    if (max === undefined || RANK[s] > RANK[max]) max = s;
  }
  return max;
}

/**
 * Type guard: is `x` one of the {@link SEVERITIES} (exact, lower-case)?
 *
 * @example
 * ```ts
 * isSeverity("medium"); // true
 * isSeverity("MEDIUM"); // false — use parseSeverity for user input
 * ```
 */
export function isSeverity(x: unknown): x is Severity {
  // `in` on a plain object would also accept "toString" and friends.
  return typeof x === "string" && Object.hasOwn(RANK, x);
}

/**
 * Parses user input (e.g. a `--min-severity` flag) case-insensitively,
 * ignoring surrounding whitespace. Returns `undefined` for anything unknown so
 * the caller decides how to report the mistake.
 *
 * @example
 * ```ts
 * parseSeverity(" High "); // "high"
 * parseSeverity("severe"); // undefined
 * ```
 */
export function parseSeverity(str: string): Severity | undefined {
  const s = str.trim().toLowerCase();
  return isSeverity(s) ? s : undefined;
}
