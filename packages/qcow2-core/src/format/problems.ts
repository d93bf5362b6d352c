/**
 * A header fact that contradicts itself or the spec. Lenient parsing records
 * these instead of failing, so an examiner still sees everything else.
 */
export interface HeaderProblem {
  /** The spec field at fault (e.g. `header_length`). */
  field: string;
  /** Its value as found. */
  value: string;
  /** One sentence naming what is wrong. */
  message: string;
  /** Host offset of the structure, when it has one. */
  offset?: number;
}
