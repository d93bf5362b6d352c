import { type Stats, stat } from "node:fs";
import {
  type BitmapDirectory,
  inspect,
  isHttpUrl,
  type LuksInfo,
  type OpenRefusal,
  type Qcow2Info,
  qemuBitmapRefusal,
  qemuOpenRefusal,
  readBitmaps,
  readLuksHeader,
  readSnapshots,
  type SnapshotTable,
} from "@x/qcow2-core";
import { openEvidence } from "./image-open.js";
import type { RemoteOptions } from "./remote.js";

/** Everything `info` and `snapshots` print, read in one open of the file. */
export interface ImageFacts {
  info: Qcow2Info;
  snapshots: SnapshotTable;
  bitmaps: BitmapDirectory;
  /** The LUKS header of a LUKS-encrypted image. */
  luks: LuksInfo | null;
  /** Bytes the file occupies on disk (st_blocks × 512), as qemu-img's actual-size; none for a URL. */
  actualSize: number | undefined;
  /** Why qemu-img would refuse to open the image (its own message), or null. */
  qemuRefusal: OpenRefusal | null;
}

/** Reads header, snapshot table and bitmap directory of the image at `path` or URL (read-only). */
export async function readImageFacts(
  path: string,
  options: RemoteOptions = {},
): Promise<ImageFacts> {
  const source = await openEvidence(path, options);
  try {
    const info = await inspect(source);
    const snapshots = await readSnapshots(source, info);
    const bitmaps = await readBitmaps(source, info);
    const luks = await readLuksHeader(source, info);
    // qemu-img's curl driver has no allocated size either.
    const st = isHttpUrl(path)
      ? null
      : // The callback form: node:fs/promises costs start-up time to load (see the core's host/fs-calls.ts).
        await new Promise<Stats>((done, fail) => stat(path, (e, s) => (e ? fail(e) : done(s))));
    const qemuRefusal =
      qemuOpenRefusal(info, "read", snapshots) ??
      (info.version === 1 ? null : await qemuBitmapRefusal(source, info));
    return {
      qemuRefusal,
      info,
      snapshots,
      bitmaps,
      luks,
      actualSize: st?.blocks === undefined ? undefined : st.blocks * 512,
    };
  } finally {
    await source.close();
  }
}
