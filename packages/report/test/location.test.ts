import { describe, expect, it } from "vitest";
import { fieldLocation, formatLocation, guestLocation, hostLocation } from "../src/index.js";

describe("location", () => {
  it("formats a structure location as the structure name", () => {
    expect(formatLocation(fieldLocation("QCOW2 header"))).toBe("QCOW2 header");
  });

  it("formats a field location as structure and field", () => {
    expect(formatLocation(fieldLocation("QCOW2 header", "version"))).toBe("QCOW2 header: version");
  });

  it("formats a host location with hex offset, decimal length and structure", () => {
    expect(formatLocation(hostLocation(0x50000, 65536, "L2 table"))).toBe(
      "host 0x50000+65536 (L2 table)",
    );
    expect(formatLocation(hostLocation(0x10))).toBe("host 0x10");
  });

  it("formats a guest location with hex offset and decimal length", () => {
    expect(formatLocation(guestLocation(0, 512))).toBe("guest 0x0+512");
  });

  it("omits optional keys that were not given", () => {
    expect(hostLocation(1)).toEqual({ kind: "host", offset: 1 });
    expect(Object.keys(fieldLocation("QCOW2 header"))).toEqual(["kind", "structure"]);
  });

  it("rejects negative, fractional and unsafe byte offsets", () => {
    expect(() => hostLocation(-1)).toThrow(RangeError);
    expect(() => guestLocation(1.5)).toThrow(RangeError);
    expect(() => hostLocation(0, 2 ** 53)).toThrow(RangeError);
  });
});
