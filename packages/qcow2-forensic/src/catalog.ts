import type { Category, Severity } from "@x/report";
import type { AnomalyCode } from "./anomaly.js";
import { KINDS } from "./kinds/index.js";

/** One row of the code catalogue (`qcow2-forensic codes`, docs). */
export interface CodeInfo {
  code: AnomalyCode;
  severity: Severity;
  category: Category;
  meaning: string;
}

/** Every finding code with its severity and meaning, generated from the kind table. */
export function codeCatalog(): CodeInfo[] {
  return (Object.keys(KINDS) as AnomalyCode[])
    .map((code) => ({
      code,
      severity: KINDS[code].severity,
      category: KINDS[code].category,
      meaning: KINDS[code].meaning,
    }))
    .sort((a, b) => a.code.localeCompare(b.code));
}
