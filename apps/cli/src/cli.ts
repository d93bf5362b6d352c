import { processIo } from "./context.js";
import { main } from "./program.js";

main(process.argv.slice(2), processIo).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // main() handles every error; this is the last guard against a crash trace.
    process.stderr.write(
      `qcow2-forensic: internal error: ${e instanceof Error ? e.message : String(e)}\n`,
    );
    process.exitCode = 70;
  },
);
