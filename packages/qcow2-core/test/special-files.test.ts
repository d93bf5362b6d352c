import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, statSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Qcow2Error } from "../src/errors.js";
import { deviceNumbers, probeEnd } from "../src/host/block-device-size.js";
import { openFileSource } from "../src/node.js";

const dir = mkdtempSync(join(tmpdir(), "qcow2-special-"));

/** The open's outcome, or a failure after `ms`: a test that would hang fails instead. */
async function settleWithin(ms: number, open: Promise<unknown>): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([
      open.then(
        () => "opened",
        (e: unknown) => e,
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

describe("special files given as images", () => {
  it("a FIFO with no writer is refused as SPECIAL_FILE within a second, never waited on", async () => {
    const fifo = join(dir, "evidence.fifo");
    execFileSync("mkfifo", [fifo]);
    const outcome = await settleWithin(1000, openFileSource(fifo));
    expect(outcome).toBeInstanceOf(Qcow2Error);
    expect(outcome).toMatchObject({ code: "SPECIAL_FILE", file: fifo });
    expect((outcome as Error).message).toBe(
      "is a FIFO (named pipe), not an image file or block device",
    );
  });

  it("a Unix socket is refused as SPECIAL_FILE", async () => {
    const path = join(dir, "evidence.sock");
    const server = createServer();
    await new Promise<void>((done) => server.listen(path, done));
    try {
      const outcome = await settleWithin(1000, openFileSource(path));
      expect(outcome).toMatchObject({ code: "SPECIAL_FILE", value: "a socket" });
    } finally {
      server.close();
    }
  });

  it("a character device is refused as SPECIAL_FILE", async () => {
    const outcome = await settleWithin(1000, openFileSource("/dev/null"));
    expect(outcome).toMatchObject({ code: "SPECIAL_FILE", value: "a character device" });
  });

  it("a directory stays an IO error", async () => {
    const outcome = await settleWithin(1000, openFileSource(dir));
    expect(outcome).toMatchObject({ code: "IO", message: "is a directory, not an image file" });
  });
});

describe("probing a device's end by reads", () => {
  it("finds the size of any source that reads nothing past its end, in at most 2 × 53 reads", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.constantFrom(0, 1, 511, 512, 4095, 4096, 4097, 8192),
          fc.integer({ min: 0, max: 2 ** 31 - 1 }),
          fc.maxSafeNat().map((n) => Math.floor(n / 4)),
        ),
        async (size) => {
          let reads = 0;
          const found = await probeEnd(async (at) => {
            reads++;
            return at < size;
          });
          expect(found).toBe(size);
          expect(reads).toBeLessThanOrEqual(2 * 53 + 2);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe("device numbers", () => {
  it("st_rdev splits into the major and minor numbers coreutils stat prints, for every device in /dev", () => {
    const devices = readdirSync("/dev")
      .map((name) => join("/dev", name))
      .filter((path) => {
        try {
          const st = statSync(path);
          return st.isBlockDevice() || st.isCharacterDevice();
        } catch {
          return false;
        }
      });
    expect(devices.length).toBeGreaterThan(0);
    // %t and %T: major and minor device type in hex (coreutils).
    const printed = execFileSync("stat", ["-L", "-c", "%t:%T", ...devices], { encoding: "utf8" })
      .trim()
      .split("\n");
    devices.forEach((path, i) => {
      const { major, minor } = deviceNumbers(statSync(path, { bigint: true }).rdev);
      expect(`${major.toString(16)}:${minor.toString(16)}`, path).toBe(printed[i]);
    });
  });
});
