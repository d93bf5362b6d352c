// The bench groups, in the order they run and appear in the report (and in --only's list).
// Each name is a file in this folder exporting the group of that name: a new group is one new
// file and one line here (see bench/README.md).
const ORDER = [
  "limits", // the machine's own hash and read speed on alloc-1g
  "hash", // guest SHA-256 against qemu-img convert + sha256sum
  "export", // export to raw against qemu-img convert -O raw
  "check", // against qemu-img check
  "map", // against qemu-img map --output=json
  "diff", // diff --metadata-only against our own map --json; exact diff's bytes read vs changed
  "info", // against qemu-img info --output=json
  "audit", // ours only, absolute targets
  "remote", // http:// URLs served by nginx: bytes moved and times against qemu-img over http
  "html", // audit --format html against our own audit --format json: the cost of the pictures
];

export const GROUPS = await Promise.all(
  ORDER.map(async (file) => {
    const group = (await import(`./${file}.mjs`)).default;
    if (group?.name !== file)
      throw new Error(`bench/groups/${file}.mjs must export default { name: "${file}", … }`);
    return group;
  }),
);
