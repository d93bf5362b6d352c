/** On-disk constants, named as in QEMU's qcow2.txt and block/qcow2.h. */

/** "QFI\xfb" — qcow2.txt "Header", bytes 0–3. */
export const QCOW_MAGIC = 0x514649fb;

/** Fixed header sizes: v1 (qcow.c), v2 (qcow2.txt "Header" bytes 0–71), v3 (bytes 0–103). */
export const QCOW1_HEADER_SIZE = 48;
export const QCOW2_V2_HEADER_SIZE = 72;
export const QCOW2_V3_HEADER_SIZE = 104;

/** Cluster size bounds QEMU accepts (block/qcow2.h MIN/MAX_CLUSTER_BITS). */
export const MIN_CLUSTER_BITS = 9;
export const MAX_CLUSTER_BITS = 21;

/** qcow2.txt "Header extensions". */
export const HEADER_EXT_END = 0x00000000;
export const HEADER_EXT_BACKING_FORMAT = 0xe2792aca;
export const HEADER_EXT_FEATURE_NAME_TABLE = 0x6803f857;
export const HEADER_EXT_BITMAPS = 0x23852875;
export const HEADER_EXT_FULL_DISK_ENCRYPTION = 0x0537be77;
export const HEADER_EXT_EXTERNAL_DATA_FILE = 0x44415441;

/** crypt_method values (qcow2.txt "Header", bytes 32–35). */
export const QCOW_CRYPT_NONE = 0;
export const QCOW_CRYPT_AES = 1;
export const QCOW_CRYPT_LUKS = 2;

/** compression_type values (qcow2.txt "Header", byte 104). */
export const QCOW2_COMPRESSION_TYPE_ZLIB = 0;
export const QCOW2_COMPRESSION_TYPE_ZSTD = 1;

/** L1/L2 entry flags — qcow2.txt "Cluster mapping". */
export const QCOW_OFLAG_COPIED = 1n << 63n;
export const QCOW_OFLAG_COMPRESSED = 1n << 62n;
export const QCOW_OFLAG_ZERO = 1n;
/** Bits 9–55 of an L1/L2 entry hold a host offset (qcow2.txt "Cluster mapping"). */
export const L1E_OFFSET_MASK = 0x00fffffffffffe00n;
export const L2E_OFFSET_MASK = 0x00fffffffffffe00n;
/** Bits 9–55 of a refcount table entry (qcow2.txt "Host cluster management"). */
export const REFT_OFFSET_MASK = 0xfffffffffffffe00n;

/** QCOW1: bit 63 of an L2 entry marks a compressed cluster (block/qcow.c). */
export const QCOW1_OFLAG_COMPRESSED = 1n << 63n;
