import type { DiskView, Layer } from "../src/index.js";

const HIDDEN = new Set<string | symbol>([
  "mappingTableAt",
  "mappingEntriesSync",
  "mappingEntries",
  "l2Geometry",
]);

/**
 * `view` with its layers hiding their mapping tables (`mappingTableAt`,
 * `mappingEntriesSync`, `mappingEntries`, `l2Geometry`): a diff over it
 * resolves every range one by one, the plain walk that the table-by-table
 * shortcuts must equal.
 */
export function unshared(view: DiskView): DiskView {
  const layers = view.layers.map(
    (layer): Layer =>
      new Proxy(layer, {
        get(target, key) {
          if (HIDDEN.has(key)) return undefined;
          const value = Reflect.get(target, key, target);
          return typeof value === "function" ? value.bind(target) : value;
        },
      }),
  );
  return { layers, virtualSize: view.virtualSize };
}
