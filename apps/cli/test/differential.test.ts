import { beforeAll, describe, it } from "vitest";
import {
  type FixtureSet,
  qemuOrSkipReason,
  regenerateFixtures,
} from "../../../fixtures/harness/index.js";
import { defineInfoSuite } from "./info-suite.js";

const skip = qemuOrSkipReason();
let live: FixtureSet | undefined;

if (skip === undefined) {
  beforeAll(() => {
    live = regenerateFixtures();
  }, 600_000);
  defineInfoSuite("live qemu-img differential: info --json", () => {
    if (live === undefined) throw new Error("fixtures were not regenerated");
    return live;
  });
} else {
  describe("live qemu-img differential: info --json", () => {
    it.skip(skip, () => {});
  });
}
