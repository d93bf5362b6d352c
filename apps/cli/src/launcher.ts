/**
 * The `qcow2-forensic` executable. It picks the bundle that serves this run
 * and runs it: each command is built as its own self-contained file
 * (`cli-info.js`, …), so a short command compiles its own code and not the
 * whole program's. Start-up is in every run's wall time, and most runs are short.
 *
 * Built as CommonJS (scripts/build.mjs), next to the bundles: `require`,
 * `__dirname` are the module's own.
 */
import { join } from "node:path";
import { bundleFor } from "./command-names.js";
import { runBundle } from "./launch/code-cache.js";

const bundle = join(__dirname, `cli-${bundleFor(process.argv.slice(2))}.js`);
runBundle(bundle, require);
