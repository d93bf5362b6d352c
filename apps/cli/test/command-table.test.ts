import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { bundleFor, COMMAND_NAMES, commandsFor } from "../src/command-names.js";
import { COMMANDS, type Register } from "../src/command-table.js";

describe("commands loaded per run", () => {
  const all = [...COMMAND_NAMES];

  it("a command name loads that command only, from its own bundle", () => {
    expect(commandsFor(["info", "--json", "disk.qcow2"])).toEqual(["info"]);
    expect(commandsFor(["--debug", "check", "disk.qcow2"])).toEqual(["check"]);
    expect(bundleFor(["info", "--json", "disk.qcow2"])).toBe("info");
    expect(bundleFor(["--debug", "check", "disk.qcow2"])).toBe("check");
  });

  it("a bare --version loads no command", () => {
    expect(commandsFor(["--version"])).toEqual([]);
    expect(commandsFor(["-V"])).toEqual([]);
    expect(bundleFor(["--version"])).toBe("bare");
  });

  it("help, completion and unknown names load every command", () => {
    for (const argv of [
      [],
      ["--help"],
      ["--version", "--help"],
      ["help", "info"],
      ["completion", "bash"],
      ["inf"],
    ]) {
      expect(commandsFor(argv)).toEqual(all);
      expect(bundleFor(argv)).toBe("all");
    }
  });

  it("the names are the command files the build makes bundles of, and the table's keys", () => {
    const files = readdirSync(new URL("../src/commands", import.meta.url))
      .filter((f) => f.endsWith(".ts"))
      .map((f) => f.slice(0, -3));
    expect([...files].sort()).toEqual([...all].sort());
    expect(Object.keys(COMMANDS)).toEqual(all);
  });

  it("every entry declares the command it is named after", async () => {
    const { Command } = await import("commander");
    const io = { stdout: process.stdout, stderr: process.stderr, env: {} };
    for (const name of all) {
      const program = new Command();
      const register = await (COMMANDS[name] as () => Promise<Register>)();
      register(program, io, () => undefined, [name]);
      expect(program.commands.map((c) => c.name())).toEqual([name]);
    }
  });
});
