// Internal: rebuilds report objects with a fixed key order and no stray keys,
// so every machine-readable renderer emits byte-identical output for equal
// data regardless of how the caller assembled its objects.
import type { Evidence, Finding, Source } from "../finding.js";
import type { Location } from "../location.js";
import type { ImageReport, ReportEnvelope, ReportError } from "../report.js";

export function canonicalLocation(loc: Location): Location {
  switch (loc.kind) {
    case "field":
      return loc.field === undefined
        ? { kind: "field", structure: loc.structure }
        : { kind: "field", structure: loc.structure, field: loc.field };
    case "host": {
      const out: Location = { kind: "host", offset: loc.offset };
      if (loc.length !== undefined) out.length = loc.length;
      if (loc.structure !== undefined) out.structure = loc.structure;
      return out;
    }
    case "guest": {
      const out: Location = { kind: "guest", offset: loc.offset };
      if (loc.length !== undefined) out.length = loc.length;
      return out;
    }
  }
}

export function canonicalEvidence(e: Evidence): Evidence {
  const out: Evidence = { field: e.field, value: e.value };
  if (e.location !== undefined) out.location = canonicalLocation(e.location);
  return out;
}

export function canonicalSource(s: Source): Source {
  const out: Source = { analyzer: s.analyzer, scope: s.scope };
  if (s.version !== undefined) out.version = s.version;
  return out;
}

export function canonicalFinding(f: Finding): Finding {
  const out: Finding = {
    category: f.category,
    code: f.code,
    note: f.note,
    source: canonicalSource(f.source),
    evidence: f.evidence.map(canonicalEvidence),
  };
  if (f.folded !== undefined) {
    const { count, total, first, last } = f.folded;
    out.folded = {
      count,
      total,
      ...(first === undefined ? {} : { first: canonicalLocation(first) }),
      ...(last === undefined ? {} : { last: canonicalLocation(last) }),
    };
  }
  return f.severity === undefined ? out : { severity: f.severity, ...out };
}

export function canonicalError(e: ReportError | null | undefined): ReportError | null {
  return e ? { code: e.code, message: e.message } : null;
}

export function canonicalImage(img: ImageReport): ImageReport {
  const out: ImageReport = {
    path: img.path,
    findings: img.findings.map(canonicalFinding),
    maxSeverity: img.maxSeverity ?? null,
    error: canonicalError(img.error),
  };
  if (img.container !== undefined) {
    const hashes: Record<string, string> = {};
    for (const k of Object.keys(img.container.hashes).sort())
      hashes[k] = img.container.hashes[k] as string;
    out.container = { size: img.container.size, hashes };
    const remote = img.container.remote;
    if (remote !== undefined)
      out.container.remote = {
        url: remote.url,
        etag: remote.etag ?? null,
        lastModified: remote.lastModified ?? null,
      };
  }
  return out;
}

export function canonicalEnvelope(env: ReportEnvelope): ReportEnvelope {
  const tool = { name: env.tool.name, version: env.tool.version };
  const images = env.images.map(canonicalImage);
  if (env.run === undefined) return { tool, images };
  const run = {
    startedAt: env.run.startedAt,
    finishedAt: env.run.finishedAt,
    commandLine: [...env.run.commandLine],
  };
  return { tool, run, images };
}
