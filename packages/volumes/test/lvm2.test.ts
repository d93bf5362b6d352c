import { readFileSync } from "node:fs";
import { join } from "node:path";
import { openImage } from "@x/qcow2-core/node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeDir, run, tempDir, toolsOrSkipReason } from "../../../fixtures/harness/guest.js";
import { FIXTURES_DIR } from "../../../fixtures/harness/index.js";
import { readVolumes, type VolumeLayout } from "../src/index.js";
import { expectSignaturesMatchBlkid, expectTableMatchesSfdisk } from "./reference/compare.js";

// An LVM2 physical volume made by LVM itself (fixtures/guest/make-lvm.sh: pvcreate, vgcreate,
// lvcreate, lvextend on a loop device, which needs root, so it is committed with LVM's own
// pvs/lvs answers). The PV label and metadata text are graded by those answers; the signature
// by blkid, live.
const GUEST = join(FIXTURES_DIR, "guest");
const pvs = JSON.parse(readFileSync(join(GUEST, "lvm.pvs.json"), "utf8")).report[0].pv[0] as Record<
  string,
  string
>;
const lvs = JSON.parse(readFileSync(join(GUEST, "lvm.lvs.json"), "utf8")).report[0].lv as Array<
  Record<string, string>
>;
const bytes = (s: string | undefined) => Number((s ?? "").replace(/B$/, ""));

let layout: VolumeLayout;
beforeAll(async () => {
  const image = await openImage(join(GUEST, "lvm.qcow2"));
  try {
    layout = await readVolumes(image);
  } finally {
    await image.close();
  }
});

describe("LVM2 physical volume (made by LVM, graded by pvs/lvs)", () => {
  it("reads the PV label and the volume group from the metadata text as pvs reports them", () => {
    const pv = layout.partitions[0];
    expect(pv?.type).toBe("8e");
    expect(pv?.filesystem?.type).toBe("LVM2_member");
    expect(pv?.filesystem?.uuid).toBe(pvs.pv_uuid);
    const lvm = pv?.filesystem?.details.lvm;
    expect({
      pv_uuid: lvm?.pvUuid,
      pe_start: `${lvm?.peStart}B`,
      pv_pe_count: String(lvm?.peCount),
      vg_name: lvm?.vgName,
      vg_uuid: lvm?.vgUuid,
      vg_extent_size: `${lvm?.extentSize}B`,
      vg_seqno: String(lvm?.seqno),
    }).toEqual(pvs);
  });

  it("reads every logical volume segment as lvs reports it, with its guest bytes", () => {
    const pv = layout.partitions[0];
    const lvm = pv?.filesystem?.details.lvm;
    const segments = (lvm?.logicalVolumes ?? []).flatMap((lv) =>
      lv.segments.map((s) => ({
        lv_name: lv.name,
        lv_uuid: lv.uuid,
        seg_start_pe: String(s.startExtent),
        seg_size_pe: String(s.extentCount),
        // lvs names the device (a loop device when it was made); the extents are what matter.
        seg_pe_ranges: s.stripes
          .map((x) => `${x.extent}-${x.extent + s.extentCount - 1}`)
          .join(" "),
        segtype: s.type === "striped" && s.stripes.length === 1 ? "linear" : s.type,
      })),
    );
    expect(segments).toEqual(
      lvs.map((l) => ({ ...l, seg_pe_ranges: (l.seg_pe_ranges as string).replace(/^[^:]*:/, "") })),
    );
    const first = lvm?.logicalVolumes[0]?.segments[0]?.stripes[0];
    expect(first?.guestStart).toBe(
      (pv?.start ?? 0) + bytes(pvs.pe_start) + (first?.extent ?? 0) * bytes(pvs.vg_extent_size),
    );
  });
});

const skip = toolsOrSkipReason(["qemu-img", "sfdisk", "blkid"]);
describe.skipIf(skip !== undefined)(
  "LVM2 physical volume (raw copy, graded by sfdisk and blkid)",
  () => {
    let dir = "";
    let raw = "";
    beforeAll(() => {
      dir = tempDir("lvm");
      raw = join(dir, "lvm.raw");
      run("qemu-img", ["convert", "-f", "qcow2", "-O", "raw", join(GUEST, "lvm.qcow2"), raw]);
    });
    afterAll(() => removeDir(dir));

    it("lists the table as sfdisk does and the PV as blkid does", () => {
      expectTableMatchesSfdisk(raw, layout);
      expectSignaturesMatchBlkid(raw, layout);
    });
  },
);
