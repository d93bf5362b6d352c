import { loadFixtureSet, qcowEntries } from "../../../fixtures/harness/index.js";
import { defineFixtureSuite } from "./fixture-suite.js";

const committed = loadFixtureSet();

defineFixtureSuite(
  "committed fixtures vs recorded qemu-img answers",
  qcowEntries(committed),
  () => committed,
);
