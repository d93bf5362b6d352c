import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FIXTURES_DIR } from "../../../fixtures/harness/index.js";
import { CLI, type CliResult, explain } from "./run-cli.js";

/**
 * FIFOs, sockets and character devices given as images: refused at once with
 * a one-line SPECIAL_FILE error. Nobody ever opens the FIFO's write end here,
 * so a command that waited on it would never finish: the runs below are
 * killed after KILL_AFTER_MS and that is reported as the failure, instead of
 * a timing assertion that a loaded machine could break.
 */
const KILL_AFTER_MS = 20_000;
const dir = mkdtempSync(join(tmpdir(), "qcow2-special-cli-"));
const fifo = join(dir, "evidence.fifo");
const socket = join(dir, "evidence.sock");
const image = join(dir, "clean-v3.qcow2");
let server: Server;

/** The built CLI, killed if it has not finished after {@link KILL_AFTER_MS}. */
function runUnlessHung(args: string[]): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill("SIGKILL"), KILL_AFTER_MS);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? -1,
        signal,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        args,
      });
    });
  });
}

/** The run finished by itself (it was not killed waiting). */
function expectFinished(r: CliResult) {
  expect(r.signal, `killed after ${KILL_AFTER_MS} ms: it waited\n${explain(r)}`).toBeNull();
}

beforeAll(async () => {
  execFileSync("mkfifo", [fifo]);
  server = createServer();
  await new Promise<void>((done) => server.listen(socket, done));
  copyFileSync(join(FIXTURES_DIR, "images", "clean-v3.qcow2"), image);
});

afterAll(() => {
  server?.close();
});

describe("special files given as images", () => {
  const commands: [string, string[]][] = [
    ["info", ["info", "--json"]],
    ["check", ["check", "--json"]],
    ["map", ["map", "--json"]],
    ["hash", ["hash"]],
    ["export", ["export"]],
  ];
  for (const [name, args] of commands) {
    it(`${name} of a FIFO nobody writes to ends with one line naming it, not a wait`, async () => {
      const out = join(dir, `${name}.raw`);
      const r = await runUnlessHung([...args, fifo, ...(name === "export" ? [out] : [])]);
      expectFinished(r);
      expect(r.code, explain(r)).toBe(3);
      expect(r.stdout).toBe("");
      expect(r.stderr).toBe(
        `qcow2-forensic: ${fifo}: is a FIFO (named pipe), not an image file or block device\n`,
      );
    });
  }

  it("audit of a FIFO, a socket and a character device beside an image: exit 3, each refused, the image still audited", async () => {
    const r = await runUnlessHung([
      "audit",
      "--format",
      "json",
      "--hash-container",
      fifo,
      socket,
      "/dev/null",
      image,
    ]);
    expectFinished(r);
    expect(r.code, explain(r)).toBe(3);
    const images = JSON.parse(r.stdout).images as {
      path: string;
      error: { code: string; message: string } | null;
      container?: { hashes?: Record<string, string> };
    }[];
    const byPath = new Map(images.map((i) => [i.path, i]));
    expect(byPath.get(fifo)?.error).toEqual({
      code: "SPECIAL_FILE",
      message: `${fifo}: is a FIFO (named pipe), not an image file or block device`,
    });
    expect(byPath.get(socket)?.error).toMatchObject({ code: "SPECIAL_FILE" });
    expect(byPath.get(socket)?.error?.message).toContain("is a socket");
    expect(byPath.get("/dev/null")?.error).toMatchObject({ code: "SPECIAL_FILE" });
    expect(byPath.get("/dev/null")?.error?.message).toContain("is a character device");
    expect(byPath.get(image)?.error).toBeNull();
    expect(byPath.get(image)?.container?.hashes?.sha256).toMatch(/^[0-9a-f]{64}$/);
    // One line each on stderr, no stack.
    for (const path of [fifo, socket, "/dev/null"])
      expect(r.stderr).toContain(`qcow2-forensic: ${path}: is a`);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it("audit --recursive of a folder holding them skips them unopened and audits the images", async () => {
    const tree = join(dir, "tree");
    const sub = join(tree, "sub");
    mkdirSync(sub, { recursive: true });
    execFileSync("mkfifo", [join(tree, "pipe.qcow2")]);
    execFileSync("mkfifo", [join(sub, "another.fifo")]);
    const nested = createServer();
    await new Promise<void>((done) => nested.listen(join(sub, "listening.sock"), done));
    try {
      copyFileSync(image, join(sub, "clean.qcow2"));
      writeFileSync(join(tree, "notes.txt"), "not an image\n");
      const r = await runUnlessHung(["audit", "--format", "json", "--recursive", tree]);
      expectFinished(r);
      expect(r.code, explain(r)).toBe(0);
      const images = JSON.parse(r.stdout).images as { path: string; error: unknown }[];
      expect(images.map((i) => [i.path, i.error])).toEqual([[join(sub, "clean.qcow2"), null]]);
    } finally {
      nested.close();
    }
  });
});
