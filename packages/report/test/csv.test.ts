import { describe, expect, it } from "vitest";
import { renderCsv } from "../src/index.js";
import { sampleEnvelope } from "./helpers.js";

// Minimal RFC 4180 reader: records end in CRLF, quoted fields may contain
// commas, CR, LF and doubled quotes. Throws on anything malformed.
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  while (i < text.length) {
    let value = "";
    if (text[i] === '"') {
      i++;
      for (;;) {
        const ch = text[i];
        if (ch === undefined) throw new Error("unterminated quoted field");
        if (ch === '"') {
          if (text[i + 1] === '"') {
            value += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        value += ch;
        i++;
      }
    } else {
      while (i < text.length && text[i] !== "," && text[i] !== "\r") {
        if (text[i] === '"' || text[i] === "\n") throw new Error(`bare ${text[i]} at ${i}`);
        value += text[i];
        i++;
      }
    }
    row.push(value);
    if (text[i] === ",") {
      i++;
    } else if (text.startsWith("\r\n", i)) {
      rows.push(row);
      row = [];
      i += 2;
    } else {
      throw new Error(`expected , or CRLF at ${i}`);
    }
  }
  if (row.length > 0) throw new Error("last record not terminated");
  return rows;
}

describe("renderCsv", () => {
  it("round-trips quotes, commas and newlines through an RFC 4180 parser", () => {
    const rows = parseCsv(renderCsv(sampleEnvelope()));
    expect(rows).toEqual([
      ["path", "severity", "code", "category", "note", "evidence"],
      [
        "disk.qcow2",
        "high",
        "DATA_BEYOND_EOF",
        "hidden-data",
        "Allocated cluster lies past the refcounted area",
        "cluster=0x50000; refcount=0",
      ],
      ["disk.qcow2", "info", "V3", "format", "QCOW2 version 3", "version=3"],
      ["disk.qcow2", "", "SNAPSHOT", "history", 'Snapshot "a, b"\nwith "quotes"', "name=a, b"],
      ["broken.qcow2", "", "NOT_QCOW2", "error", "bad magic", ""],
    ]);
  });

  it("terminates every record with CRLF and never uses a bare LF outside quotes", () => {
    const out = renderCsv(sampleEnvelope());
    expect(out.startsWith("path,severity,code,category,note,evidence\r\n")).toBe(true);
    expect(out.endsWith("\r\n")).toBe(true);
    expect(out).toContain('"Snapshot ""a, b""\nwith ""quotes"""');
  });
});
