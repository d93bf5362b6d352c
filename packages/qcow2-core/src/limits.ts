/**
 * Every bound the parser enforces on counts and sizes read from an image.
 * Each value matches (or is looser than) a limit QEMU itself enforces, so no
 * image QEMU accepts is refused, and a crafted image cannot make the parser
 * allocate or loop without bound.
 */
export const LIMITS = {
  /** QEMU QCOW_MAX_L1_SIZE is 32 MiB of entries (block/qcow2.h). */
  maxL1Entries: (32 * 1024 * 1024) / 8,
  /** QEMU QCOW_MAX_REFTABLE_SIZE is 8 MiB (block/qcow2.h). */
  maxRefcountTableBytes: 8 * 1024 * 1024,
  /** QEMU QCOW_MAX_SNAPSHOTS (block/qcow2.h). */
  maxSnapshots: 65536,
  /** QEMU QCOW_MAX_SNAPSHOTS_SIZE: the whole table fits in 64 MiB. */
  maxSnapshotTableBytes: 64 * 1024 * 1024,
  /** QEMU QCOW_MAX_SNAPSHOT_EXTRA_DATA. */
  maxSnapshotExtraData: 1024,
  /** Snapshot id and name strings are u16-sized; QEMU caps the name at 65535 too. */
  maxSnapshotString: 65535,
  /** Header extensions live in cluster 0 (≤ 2 MiB / 8 bytes each); 4096 is far above any real image. */
  maxHeaderExtensions: 4096,
  /** QEMU refuses backing file names over 1023 bytes (block/qcow2.c). */
  maxBackingFileName: 1023,
  /** QEMU's external data file name and backing format are bounded by the header cluster. */
  maxExtensionString: 65536,
  /** Feature name table entries are 48 bytes each inside cluster 0. */
  maxFeatureNameEntries: (2 * 1024 * 1024) / 48,
  /** Bytes of cluster 0 read to parse header extensions: MAX_CLUSTER_BITS = 21. */
  maxHeaderClusterBytes: 2 * 1024 * 1024,
  /** Backing chain depth; real chains are a handful deep, and each layer holds an open file. */
  maxBackingDepth: 64,
  /** LUKS key material per slot: QEMU writes 4000 stripes × ≤ 64 key bytes (256 KB); 16 MiB bounds crafted slots. */
  maxLuksKeyMaterial: 16 * 1024 * 1024,
  /**
   * L2 entries one check may examine (active + every snapshot, repeats
   * included): 512 Mi covers a 32 TiB disk at 64 KiB clusters, or 20
   * snapshots of 1.6 TiB. A crafted L1 pointing everywhere at one table
   * stops here instead of scanning for hours.
   */
  maxCheckTableEntries: 512 * 1024 * 1024,
  /** L2 tables kept in memory by one open image (each ≤ one cluster, ≤ 2 MiB). */
  l2CacheEntries: 64,
} as const;
