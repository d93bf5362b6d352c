/**
 * LVM2's metadata text (its "config" syntax): `name = value` assignments and
 * `name { … }` sections, values being numbers, "strings" or [lists]. A small
 * bounded parser: it never recurses deeper than {@link MAX_DEPTH}, never
 * reads more than {@link MAX_TOKENS} tokens, and stops at the first syntax
 * error with what it has.
 */

export type LvmValue = number | string | LvmValue[];
export interface LvmSection {
  [key: string]: LvmValue | LvmSection;
}

const MAX_DEPTH = 16;
const MAX_TOKENS = 200_000;

type Token =
  | { t: "word"; v: string }
  | { t: "str"; v: string }
  | { t: "num"; v: number }
  | { t: "sym"; v: "=" | "{" | "}" | "[" | "]" | "," };

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length && out.length < MAX_TOKENS) {
    const c = text[i] as string;
    if (c === "#") {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (/\s/.test(c) || c === "\0") {
      i++;
    } else if ("={}[],".includes(c)) {
      out.push({ t: "sym", v: c as "=" });
      i++;
    } else if (c === '"') {
      let v = "";
      i++;
      while (i < text.length && text[i] !== '"') {
        if (text[i] === "\\" && i + 1 < text.length) i++;
        v += text[i];
        i++;
      }
      i++;
      out.push({ t: "str", v });
    } else {
      let j = i;
      while (j < text.length && !/[\s={}[\],"#]/.test(text[j] as string)) j++;
      const word = text.slice(i, j);
      const n = Number(word);
      out.push(
        /^[+-]?\d+(\.\d+)?$/.test(word) && Number.isFinite(n)
          ? { t: "num", v: n }
          : { t: "word", v: word },
      );
      i = j;
    }
  }
  return out;
}

/** Parses metadata text into nested sections; a syntax error ends the parse with what came before it. */
export function parseLvmText(text: string): LvmSection {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = () => tokens[pos];
  const value = (depth: number): LvmValue | undefined => {
    const tok = tokens[pos++];
    if (tok === undefined) return undefined;
    if (tok.t === "num" || tok.t === "str") return tok.v;
    if (tok.t === "word") return tok.v;
    if (tok.v !== "[" || depth > MAX_DEPTH) return undefined;
    const list: LvmValue[] = [];
    while (pos < tokens.length) {
      const next = peek();
      if (next?.t === "sym" && next.v === "]") {
        pos++;
        return list;
      }
      if (next?.t === "sym" && next.v === ",") {
        pos++;
        continue;
      }
      const v = value(depth + 1);
      if (v === undefined) return list;
      list.push(v);
    }
    return list;
  };
  const section = (depth: number): LvmSection => {
    const out: LvmSection = Object.create(null);
    while (pos < tokens.length) {
      const key = tokens[pos];
      if (key?.t === "sym" && key.v === "}") {
        pos++;
        return out;
      }
      if (key?.t !== "word" && key?.t !== "str") return out;
      pos++;
      const op = tokens[pos++];
      if (op?.t === "sym" && op.v === "=") {
        const v = value(depth);
        if (v === undefined) return out;
        out[String(key.v)] = v;
      } else if (op?.t === "sym" && op.v === "{" && depth < MAX_DEPTH) {
        out[String(key.v)] = section(depth + 1);
      } else {
        pos = tokens.length;
        return out;
      }
    }
    return out;
  };
  return section(0);
}

export const isSection = (v: unknown): v is LvmSection =>
  typeof v === "object" && v !== null && !Array.isArray(v);
