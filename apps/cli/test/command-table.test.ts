import { describe, expect, it } from "vitest";
import { COMMANDS, commandsFor, type Register } from "../src/command-table.js";

describe("commands loaded per run", () => {
  const all = Object.keys(COMMANDS);

  it("a command name loads that command only", () => {
    expect(commandsFor(["info", "--json", "disk.qcow2"])).toEqual(["info"]);
    expect(commandsFor(["--debug", "check", "disk.qcow2"])).toEqual(["check"]);
  });

  it("a bare --version loads no command", () => {
    expect(commandsFor(["--version"])).toEqual([]);
    expect(commandsFor(["-V"])).toEqual([]);
  });

  it("help, completion and unknown names load every command", () => {
    expect(commandsFor([])).toEqual(all);
    expect(commandsFor(["--help"])).toEqual(all);
    expect(commandsFor(["--version", "--help"])).toEqual(all);
    expect(commandsFor(["help", "info"])).toEqual(all);
    expect(commandsFor(["completion", "bash"])).toEqual(all);
    expect(commandsFor(["inf"])).toEqual(all);
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
