/**
 * A named field of an on-disk structure, e.g. the `l1_table_offset` field of
 * the "QCOW2 header". `field` is omitted when the structure as a whole is meant.
 *
 * @example
 * ```ts
 * const loc: FieldLocation = { kind: "field", structure: "QCOW2 header", field: "version" };
 * ```
 */
export interface FieldLocation {
  kind: "field";
  structure: string;
  field?: string;
}

/**
 * A byte range within the container file itself (the `.qcow2` on the host).
 * `structure` optionally names what lives there (e.g. "L2 table").
 *
 * @example
 * ```ts
 * const loc: HostLocation = { kind: "host", offset: 0x50000, length: 65536, structure: "L2 table" };
 * ```
 */
export interface HostLocation {
  kind: "host";
  offset: number;
  length?: number;
  structure?: string;
}

/**
 * A byte range within the virtual disk as the guest sees it.
 *
 * @example
 * ```ts
 * const loc: GuestLocation = { kind: "guest", offset: 0, length: 512 };
 * ```
 */
export interface GuestLocation {
  kind: "guest";
  offset: number;
  length?: number;
}

/**
 * Where a piece of evidence was observed; discriminated on `kind`.
 *
 * @example
 * ```ts
 * function isOnHost(loc: Location): loc is HostLocation {
 *   return loc.kind === "host";
 * }
 * ```
 */
export type Location = FieldLocation | HostLocation | GuestLocation;

// Byte offsets above 2^53 cannot be represented exactly as numbers; rejecting
// them here keeps a silently rounded offset out of a forensic report.
function checkByteCount(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${n}`);
  }
}

/**
 * Builds a {@link FieldLocation}.
 *
 * @example
 * ```ts
 * fieldLocation("QCOW2 header", "crypt_method");
 * // { kind: "field", structure: "QCOW2 header", field: "crypt_method" }
 * ```
 */
export function fieldLocation(structure: string, field?: string): FieldLocation {
  return field === undefined ? { kind: "field", structure } : { kind: "field", structure, field };
}

/**
 * Builds a {@link HostLocation}.
 *
 * @throws RangeError when `offset` or `length` is negative, fractional or beyond 2^53.
 * @example
 * ```ts
 * hostLocation(0x50000, 65536, "L2 table");
 * ```
 */
export function hostLocation(offset: number, length?: number, structure?: string): HostLocation {
  checkByteCount("offset", offset);
  const loc: HostLocation = { kind: "host", offset };
  if (length !== undefined) {
    checkByteCount("length", length);
    loc.length = length;
  }
  if (structure !== undefined) loc.structure = structure;
  return loc;
}

/**
 * Builds a {@link GuestLocation}.
 *
 * @throws RangeError when `offset` or `length` is negative, fractional or beyond 2^53.
 * @example
 * ```ts
 * guestLocation(0, 512); // the guest's first sector
 * ```
 */
export function guestLocation(offset: number, length?: number): GuestLocation {
  checkByteCount("offset", offset);
  const loc: GuestLocation = { kind: "guest", offset };
  if (length !== undefined) {
    checkByteCount("length", length);
    loc.length = length;
  }
  return loc;
}

function formatRange(offset: number, length: number | undefined): string {
  // Offsets in hex match hexdump/qemu-img output; lengths in decimal read as sizes.
  const start = `0x${offset.toString(16)}`;
  return length === undefined ? start : `${start}+${length}`;
}

/**
 * Short, single-line description of a location for human output.
 *
 * @example
 * ```ts
 * formatLocation(fieldLocation("QCOW2 header"));                 // "QCOW2 header"
 * formatLocation(fieldLocation("QCOW2 header", "version"));      // "QCOW2 header: version"
 * formatLocation(hostLocation(0x50000, 65536, "L2 table"));      // "host 0x50000+65536 (L2 table)"
 * formatLocation(guestLocation(0, 512));                         // "guest 0x0+512"
 * ```
 */
export function formatLocation(loc: Location): string {
  switch (loc.kind) {
    case "field":
      return loc.field === undefined ? loc.structure : `${loc.structure}: ${loc.field}`;
    case "host": {
      const range = `host ${formatRange(loc.offset, loc.length)}`;
      return loc.structure === undefined ? range : `${range} (${loc.structure})`;
    }
    case "guest":
      return `guest ${formatRange(loc.offset, loc.length)}`;
  }
}
