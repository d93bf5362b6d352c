import { describe, expect, it } from "vitest";
import { shouldUseColor } from "../src/index.js";

const tty = { isTTY: true };
const pipe = { isTTY: false };

describe("shouldUseColor", () => {
  it("follows the stream's TTY status when no variable is set", () => {
    expect(shouldUseColor(tty, {})).toBe(true);
    expect(shouldUseColor(pipe, {})).toBe(false);
    expect(shouldUseColor({}, {})).toBe(false);
  });

  it("disables colour when NO_COLOR has a non-empty value", () => {
    expect(shouldUseColor(tty, { NO_COLOR: "1" })).toBe(false);
  });

  it("ignores an empty NO_COLOR", () => {
    expect(shouldUseColor(tty, { NO_COLOR: "" })).toBe(true);
  });

  it("enables colour when FORCE_COLOR is set to anything but 0, even with NO_COLOR", () => {
    expect(shouldUseColor(pipe, { FORCE_COLOR: "1" })).toBe(true);
    expect(shouldUseColor(pipe, { FORCE_COLOR: "" })).toBe(true);
    expect(shouldUseColor(pipe, { FORCE_COLOR: "3", NO_COLOR: "1" })).toBe(true);
  });

  it("disables colour when FORCE_COLOR is 0 or false, even on a TTY", () => {
    expect(shouldUseColor(tty, { FORCE_COLOR: "0" })).toBe(false);
    expect(shouldUseColor(tty, { FORCE_COLOR: "false" })).toBe(false);
  });
});
