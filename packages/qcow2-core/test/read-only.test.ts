import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { describe, expect, it, vi } from "vitest";
import { loadFixtureSet, qcowEntries } from "../../../fixtures/harness/index.js";

// Every evidence file is opened read-only: intercept every way Node opens a
// file (node:fs's open and openSync, node:fs/promises' open) and record the
// flags of every call the library makes.
const calls: Array<{ path: string; flags: unknown }> = [];
vi.mock("node:fs", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs")>();
  const open = (path: string, flags: unknown, ...rest: unknown[]) => {
    calls.push({ path: String(path), flags });
    return (real.open as (...args: unknown[]) => void)(path, flags, ...rest);
  };
  const openSync = (path: string, flags?: unknown, mode?: unknown) => {
    calls.push({ path: String(path), flags });
    return real.openSync(path, flags as number, mode as number);
  };
  return { ...real, default: { ...real, open, openSync }, open, openSync };
});
vi.mock("node:fs/promises", async (importOriginal) => {
  const real = await importOriginal<typeof import("node:fs/promises")>();
  return {
    ...real,
    open: (path: string, flags?: unknown, mode?: unknown) => {
      calls.push({ path: String(path), flags });
      return real.open(path, flags as number, mode as number);
    },
  };
});

describe("read-only guarantee", () => {
  it("the evidence flags are read-only, with O_NONBLOCK so that no FIFO can hold an open", async () => {
    const { EVIDENCE_OPEN_FLAGS } = await import("../src/node.js");
    expect(EVIDENCE_OPEN_FLAGS).toBe(constants.O_RDONLY | constants.O_NONBLOCK);
    for (const writing of [
      constants.O_WRONLY,
      constants.O_RDWR,
      constants.O_CREAT,
      constants.O_TRUNC,
      constants.O_APPEND,
    ])
      expect(EVIDENCE_OPEN_FLAGS & writing).toBe(0);
  });

  it("every open of every fixture, its backing chain and data files, uses the read-only evidence flags and nothing else", async () => {
    const { openImage, openFileSource, EVIDENCE_OPEN_FLAGS } = await import("../src/node.js");
    const { check, inspect, readSnapshots } = await import("../src/index.js");
    const set = loadFixtureSet();
    for (const entry of qcowEntries(set)) {
      const path = set.path(entry);
      const source = await openFileSource(path);
      const info = await inspect(source);
      await readSnapshots(source, info);
      await check(source, info).catch(() => undefined);
      await source.close();
      const image = await openImage(
        path,
        entry.passphraseFile ? { passphrase: new TextEncoder().encode("x") } : {},
      ).catch(() => null);
      if (image) {
        const hash = createHash("sha256");
        try {
          for await (const chunk of image.stream()) hash.update(chunk);
        } catch {
          // crafted fixtures QEMU cannot read either; the opens are what count
        }
        await image.map().catch(() => undefined);
        await image.close();
      }
    }
    expect(calls.length).toBeGreaterThan(qcowEntries(set).length);
    expect(calls.filter((c) => c.flags !== EVIDENCE_OPEN_FLAGS)).toEqual([]);
  });
});
