import type { Qcow2Info } from "@x/qcow2-core";
import type { ChainFigure, ChainNode } from "@x/report";
import type { ChainFacts } from "../audit-image.js";
import { formatBytes } from "./units.js";

function describe(format: string, version: number | null, virtualSize: number | null): string {
  const kind = format === "raw" ? "raw" : `${format} v${version ?? "?"}`;
  return virtualSize === null ? kind : `${kind}, ${formatBytes(virtualSize)} virtual`;
}

/**
 * The backing chain as a diagram: the image, then each backing file found
 * (the name recorded by its referrer, and the file it resolved to), then,
 * when the walk stopped early, the missing, looping or unreadable name.
 *
 * @example
 * ```ts
 * const figure = chainFigure("overlay.qcow2", info, exam.chain);
 * ```
 */
export function chainFigure(name: string, info: Qcow2Info, chain: ChainFacts): ChainFigure {
  const nodes: ChainNode[] = [
    {
      label: name,
      detail: describe(info.version === 1 ? "qcow" : "qcow2", info.version, info.virtualSize),
      state: "present",
    },
  ];
  for (const file of chain.files) {
    const where = file.path === file.name ? "" : ` → ${file.path}`;
    nodes.push({
      label: file.name,
      detail: `${describe(file.format, file.version, file.virtualSize)}${where}`,
      state: "present",
    });
  }
  const o = chain.outcome;
  if (o.kind !== "complete") {
    nodes.push({
      label: o.name ?? "(unnamed)",
      ...(o.message === null ? {} : { detail: o.message }),
      state: o.kind,
    });
  }
  return {
    kind: "chain",
    title: "Backing chain",
    edgeLabel: "backing file",
    nodes,
    caption:
      o.kind === "complete"
        ? `The guest disk is read through ${nodes.length} files, top first; names are as recorded in the referring image.`
        : `The chain could not be followed to its end (${o.kind}); what the missing part would supply cannot be read.`,
  };
}
