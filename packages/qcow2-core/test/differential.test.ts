import { beforeAll, describe, it } from "vitest";
import {
  type FixtureSet,
  loadFixtureSet,
  qcowEntries,
  qemuOrSkipReason,
  regenerateFixtures,
} from "../../../fixtures/harness/index.js";
import { defineFixtureSuite } from "./fixture-suite.js";

// The same comparisons, against images and answers qemu-img makes right now.
const skip = qemuOrSkipReason();
let live: FixtureSet | undefined;

if (skip === undefined) {
  beforeAll(() => {
    live = regenerateFixtures();
  }, 600_000);
  defineFixtureSuite("live qemu-img differential", qcowEntries(loadFixtureSet()), () => {
    if (live === undefined) throw new Error("fixtures were not regenerated");
    return live;
  });
} else {
  describe("live qemu-img differential", () => {
    it.skip(skip, () => {});
  });
}
