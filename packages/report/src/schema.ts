import { version } from "../package.json";

// unpkg serves every file of every published npm version at a fixed address:
// a report names the exact schema of the package version that wrote it.
const PUBLISHED = `https://unpkg.com/@x/report@${version}/schema`;

/**
 * Where the JSON Schema (2020-12) of {@link renderJson}'s output is published:
 * `schema/report.schema.json` of this package's version on npm. The JSON
 * report carries it as `$schema`.
 *
 * @example
 * ```ts
 * JSON.parse(renderJson(envelope)).$schema === REPORT_SCHEMA_URL; // true
 * ```
 */
export const REPORT_SCHEMA_URL = `${PUBLISHED}/report.schema.json`;

/**
 * Where the JSON Schema (2020-12) of one {@link renderJsonLines} line is
 * published: `schema/report-line.schema.json` of this package's version.
 *
 * @example
 * ```ts
 * console.log(`validate each line against ${REPORT_LINE_SCHEMA_URL}`);
 * ```
 */
export const REPORT_LINE_SCHEMA_URL = `${PUBLISHED}/report-line.schema.json`;
