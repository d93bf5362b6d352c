import { createHash } from "node:crypto";
import { cpSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Ajv2020 from "ajv/dist/2020.js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type EvidenceServer, startEvidenceServer } from "../../../fixtures/harness/http-server.js";
import { FIXTURES_DIR, qemuOrSkipReason } from "../../../fixtures/harness/index.js";
import { runAsync, runCliAsync } from "./run-cli.js";

// Every command on an http:// URL against the same command on the local file: outputs equal
// apart from where the image lives. The server (fixtures/harness/http-server.ts) runs in this
// process on 127.0.0.1 and counts what it sends.

const require = createRequire(import.meta.url);
const validate = new Ajv2020({ allErrors: true, strict: false }).compile(
  require("@x/report/schema/report.schema.json") as object,
);

const root = mkdtempSync(join(tmpdir(), "qcow2-remote-"));
cpSync(join(FIXTURES_DIR, "images"), root, { recursive: true });
const passphrase = join(root, "luks.passphrase");

let server: EvidenceServer;
beforeAll(async () => {
  server = await startEvidenceServer(root);
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.mode = {};
  server.reset();
});

const local = (name: string) => join(root, name);
const remote = (name: string) => server.url(name);
/** Where the image lives, written the same way for both. */
const placeless = (text: string) =>
  text.split(`${root}/`).join("<DIR>/").split(server.base).join("<DIR>/");
const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

/** Runs `args(image)` on the file and on its URL; returns both results, placeless. */
async function both(name: string, args: (image: string) => string[]) {
  const [l, r] = await Promise.all([
    runCliAsync(args(local(name))),
    runCliAsync(args(remote(name))),
  ]);
  const clean = (x: typeof l) => ({
    code: x.code,
    stdout: placeless(x.stdout),
    stderr: placeless(x.stderr),
  });
  return { local: clean(l), remote: clean(r), raw: { local: l, remote: r } };
}

interface ReportImage {
  path: string;
  error: { code: string; message: string } | null;
  container?: {
    size: number;
    hashes: Record<string, string>;
    remote?: { url: string; etag: string | null; lastModified: string | null };
  };
}
const images = (stdout: string) => (JSON.parse(stdout) as { images: ReportImage[] }).images;

/** An audit JSON report without its clock, and without the custody record only a remote source has. */
function auditShape(stdout: string): unknown {
  const report = JSON.parse(stdout) as {
    run: Record<string, unknown>;
    images: Array<Record<string, unknown>>;
  };
  delete report.run.startedAt;
  delete report.run.finishedAt;
  for (const image of report.images) delete image.container;
  return report;
}

const IMAGES = [
  "snapshots.qcow2", // internal snapshots
  "chain-top.qcow2", // qcow2 → qcow2 → raw chain, relative names
  "zstd.qcow2",
  "luks.qcow2", // with --passphrase-file
  "external-data.qcow2", // external data file, relative name
];
const key = (name: string) => (name === "luks.qcow2" ? ["--passphrase-file", passphrase] : []);

describe("every command on a URL equals the command on the file", () => {
  for (const name of IMAGES) {
    it(`${name}: info, snapshots, check, map, hash, export, volumes and audit`, async () => {
      const commands: Array<(image: string) => string[]> = [
        (i) => ["info", "--json", i],
        (i) => ["info", i],
        (i) => ["snapshots", "--json", i],
        (i) => ["check", "--json", ...key(name), i],
        (i) => ["map", "--json", ...key(name), i],
        (i) => ["hash", "--json", "--container", "--algorithm", "sha256,md5", ...key(name), i],
        (i) => ["export", ...key(name), i, "-"],
        (i) => ["volumes", "--json", ...key(name), i],
      ];
      const results = await Promise.all(commands.map((args) => both(name, args)));
      for (const [i, args] of commands.entries()) {
        const r = results[i] as Awaited<ReturnType<typeof both>>;
        // qemu-img's curl driver has no allocated size either: the one key a URL cannot give.
        if (args("IMG")[1] === "--json" && args("IMG")[0] === "info") {
          expect(r.local.stdout).toMatch(/"actual-size": \d+,\n/);
          r.local.stdout = r.local.stdout.replace(/ *"actual-size": \d+,\n/, "");
        }
        expect(r.remote, args("IMG").join(" ")).toEqual(r.local);
        if (args("IMG")[0] === "export")
          expect(sha256(r.raw.remote.stdoutBytes)).toBe(sha256(r.raw.local.stdoutBytes));
      }
      const audit = await both(name, (i) => [
        "audit",
        "--format",
        "json",
        "--now",
        "2030-01-01",
        ...key(name),
        i,
      ]);
      expect(audit.remote.code).toBe(audit.local.code);
      expect(auditShape(audit.remote.stdout)).toEqual(auditShape(audit.local.stdout));
    });
  }

  it("check and carve find and write the same leaked runs, bytes and manifest", async () => {
    const check = await both("leak.qcow2", (i) => ["check", "--json", i]);
    expect(check.remote.code).toBe(3);
    expect(check.remote).toEqual(check.local);
    const outs = {
      local: join(mkdtempSync(join(tmpdir(), "qcow2-rc-")), "o"),
      remote: join(mkdtempSync(join(tmpdir(), "qcow2-rc-")), "o"),
    };
    const l = await runCliAsync(["carve", local("leak.qcow2"), outs.local]);
    const r = await runCliAsync(["carve", remote("leak.qcow2"), outs.remote]);
    expect(r.code).toBe(0);
    expect(l.code).toBe(0);
    const files = readdirSync(outs.local).sort();
    expect(readdirSync(outs.remote).sort()).toEqual(files);
    for (const f of files) {
      const a = readFileSync(join(outs.local, f), "utf8");
      const b = readFileSync(join(outs.remote, f), "utf8");
      expect(placeless(b)).toBe(placeless(a));
    }
  });

  it("vmstate writes the same VM state", async () => {
    const r = await both("vmstate.qcow2", (i) => ["vmstate", "--snapshot", "1", i, "-"]);
    expect(r.remote.code).toBe(0);
    expect(r.remote).toEqual(r.local);
    expect(r.raw.remote.stdoutBytes.equals(r.raw.local.stdoutBytes)).toBe(true);
  });
});

describe("remote custody", () => {
  it("audit records the URL (query redacted), size, ETag and Last-Modified, and hashes the object once", async () => {
    const url = `${remote("snapshots.qcow2")}?X-Amz-Signature=s3cr3t`;
    const r = await runCliAsync(["audit", "--format", "json", "--hash-container", url]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain("s3cr3t");
    expect(validate(JSON.parse(r.stdout)), JSON.stringify(validate.errors)).toBe(true);
    const image = images(r.stdout)[0];
    const file = readFileSync(local("snapshots.qcow2"));
    const served = server.log.find((x) => x.status === 206);
    expect(image?.path).toBe(`${remote("snapshots.qcow2")}?REDACTED`);
    expect(image?.container).toEqual({
      size: file.length,
      hashes: { sha256: sha256(file) },
      remote: {
        url: `${remote("snapshots.qcow2")}?REDACTED`,
        etag: expect.stringMatching(/^"/),
        lastModified: expect.stringMatching(/GMT$/),
      },
    });
    expect(served).toBeDefined();
    // The whole object crossed once for the digest, plus the audit's metadata reads.
    const whole = server.log.filter((x) => x.range === `bytes=0-${file.length - 1}`);
    expect(whole).toHaveLength(1);
  });

  it("a remote audit without --hash-container moves only metadata and still records custody", async () => {
    const r = await runCliAsync(["audit", "--format", "json", remote("snapshots.qcow2")]);
    expect(r.code, r.stderr).toBe(0);
    const image = images(r.stdout)[0];
    expect(image?.container?.hashes).toEqual({});
    expect(image?.container?.remote?.etag).toMatch(/^"/);
  });
});

describe("--header", () => {
  it("is sent, and its value appears in no output or report", async () => {
    const secret = "Bearer top-s3cret-token";
    const url = `${remote("chain-top.qcow2")}?sig=q5ecret`;
    for (const format of ["json", "sarif", "text"]) {
      server.reset();
      const r = await runCliAsync([
        "audit",
        "--format",
        format,
        "--header",
        `Authorization: ${secret}`,
        url,
      ]);
      expect(r.code, r.stderr).toBe(0);
      expect(`${r.stdout}${r.stderr}`).not.toContain("top-s3cret");
      expect(`${r.stdout}${r.stderr}`).not.toContain("q5ecret");
      // Sent with every request, the backing files' (same origin) included.
      expect(server.log.length).toBeGreaterThan(2);
      expect(server.log.every((x) => x.headers.authorization === secret)).toBe(true);
      expect(new Set(server.log.map((x) => x.path))).toEqual(
        new Set(["/chain-top.qcow2", "/chain-mid.qcow2", "/chain-base.raw"]),
      );
      if (format === "json") {
        const run = (JSON.parse(r.stdout) as { run: { commandLine: string[] } }).run;
        expect(run.commandLine).toContain("Authorization: REDACTED");
        expect(run.commandLine).toContain(`${remote("chain-top.qcow2")}?REDACTED`);
      }
    }
  });

  it("never shows the value in errors and --debug output either", async () => {
    server.mode = { status: 403 };
    const r = await runCliAsync([
      "info",
      "--debug",
      "-H",
      "X-Api-Key: k3y-value",
      remote("zstd.qcow2"),
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).not.toContain("k3y-value");
    expect(r.stderr).toContain("HTTP 403");
  });

  it("refuses a line that is not 'Name: value' as a usage error, without echoing it", async () => {
    const r = await runCliAsync(["info", "--header", "no-colon-s3cret", remote("zstd.qcow2")]);
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain("s3cret");
  });
});

describe("audit --from-file", () => {
  it("audits every URL and path listed on standard input, each once", async () => {
    const list = [
      remote("snapshots.qcow2"),
      "# a comment",
      "",
      local("zstd.qcow2"),
      remote("overlay.qcow2"),
    ].join("\n");
    const r = await runCliAsync(["audit", "--format", "json", "--from-file", "-"], { input: list });
    expect(r.code, r.stderr).toBe(0);
    const paths = (JSON.parse(r.stdout) as { images: Array<{ path: string }> }).images.map(
      (i) => i.path,
    );
    expect(paths.sort()).toEqual(
      [local("zstd.qcow2"), remote("overlay.qcow2"), remote("snapshots.qcow2")].sort(),
    );
  });

  it("an empty list is a usage error", async () => {
    const r = await runCliAsync(["audit", "--from-file", "-"], { input: "\n# nothing\n" });
    expect(r.code).toBe(2);
  });
});

describe("a misbehaving server", () => {
  it("dropping every 3rd connection: same hash and audit as the file", async () => {
    server.mode = { dropEvery: 3 };
    const h = await both("chain-top.qcow2", (i) => ["hash", "--json", i]);
    expect(h.remote).toEqual(h.local);
    const a = await both("snapshots.qcow2", (i) => [
      "audit",
      "--format",
      "json",
      "--now",
      "2030-01-01",
      i,
    ]);
    expect(auditShape(a.remote.stdout)).toEqual(auditShape(a.local.stdout));
  });

  it("answering slowly: same map as the file", async () => {
    server.mode = { delayMs: 20 };
    const m = await both("chain-top.qcow2", (i) => ["map", "--json", i]);
    expect(m.remote).toEqual(m.local);
  });

  it("ignoring Range: a small image is read whole and gives the same answer", async () => {
    server.mode = { ignoreRange: true };
    const r = await both("snapshots.qcow2", (i) => ["check", "--json", i]);
    expect(r.remote).toEqual(r.local);
  });

  it("ignoring Range on an image over 1 MiB: one error line, RANGE_NOT_SUPPORTED in the report", async () => {
    server.mode = { ignoreRange: true };
    const r = await runCliAsync(["audit", "--format", "json", remote("luks.qcow2")]);
    expect(r.code).toBe(3);
    const image = images(r.stdout)[0];
    expect(image?.error?.code).toBe("RANGE_NOT_SUPPORTED");
    expect(image?.error?.message).toContain(remote("luks.qcow2"));
    expect(image?.error?.message).toContain("HTTP 200");
  });

  it("changing the ETag halfway: SOURCE_CHANGED, naming the URL", async () => {
    server.mode = { etagChangeAfter: 1 };
    const r = await runCliAsync(["audit", "--format", "json", remote("snapshots.qcow2")]);
    expect(r.code).toBe(3);
    const image = images(r.stdout)[0];
    expect(image?.error?.code).toBe("SOURCE_CHANGED");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toContain(remote("snapshots.qcow2"));
  });

  for (const status of [403, 404, 500]) {
    it(`answering ${status}: one error line naming the URL and the status`, async () => {
      server.mode = { status };
      const r = await runCliAsync(["info", `${remote("zstd.qcow2")}?sig=abc`]);
      expect(r.code).toBe(3);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toContain(`${remote("zstd.qcow2")}?REDACTED`);
      expect(r.stderr).toContain(`HTTP ${status}`);
      expect(r.stderr).not.toContain("abc");
    });
  }

  it("a backing file missing on the server is QCOW2-BACKING-MISSING, as for a local file", async () => {
    const r = await both("backing-missing.qcow2", (i) => [
      "audit",
      "--format",
      "json",
      "--now",
      "2030-01-01",
      i,
    ]);
    expect(auditShape(r.remote.stdout)).toEqual(auditShape(r.local.stdout));
    expect(r.remote.stdout).toContain("QCOW2-BACKING-MISSING");
  });
});

// qemu-img reads http(s) through its curl driver (Debian's qemu-block-extra); it is the yardstick.
const qemuSkip = qemuOrSkipReason();
const curlSkip = await (async () => {
  if (qemuSkip !== undefined) return qemuSkip;
  const probe = await startEvidenceServer(root);
  const r = await runAsync("qemu-img", ["info", probe.url("zstd.qcow2")]);
  await probe.close();
  if (r.code === 0) return undefined;
  const reason = `qemu-img cannot read http:// (install qemu-block-extra): ${r.stderr.trim()}`;
  if (process.env.QCOW2_FORENSIC_REQUIRE_QEMU)
    throw new Error(`QCOW2_FORENSIC_REQUIRE_QEMU is set but ${reason}`);
  console.warn(`[remote] ${reason}: byte budget against qemu-img skipped`);
  return reason;
})();

describe.skipIf(curlSkip !== undefined)("bytes moved, against qemu-img over http", () => {
  for (const name of [
    "snapshots.qcow2",
    "zstd.qcow2",
    "luks.qcow2",
    "chain-top.qcow2",
    "compressed-zlib.qcow2",
  ]) {
    it(`${name}: info moves no more bytes than qemu-img info`, async () => {
      server.reset();
      const q = await runAsync("qemu-img", ["info", "--output=json", remote(name)]);
      expect(q.code, q.stderr).toBe(0);
      const theirs = server.counts();
      server.reset();
      const ours = await runCliAsync(["info", "--json", remote(name)]);
      expect(ours.code, ours.stderr).toBe(0);
      expect(server.counts().bytes).toBeLessThanOrEqual(theirs.bytes);
    });
  }
});
