// Binary sizes (image geometry) and the decimal ones the report prints (GB/s, MB).
export const KiB = 1024;
export const MiB = 2 ** 20;
export const GiB = 2 ** 30;
