import { processIo } from "./context.js";

// A closed pipe (`… | head`) ends the output quietly, as well-behaved tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw e;
  });
}

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
