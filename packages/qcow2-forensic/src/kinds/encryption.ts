import type { Evidence } from "@x/report";
import type { AnomalyOf } from "../anomaly.js";
import { atHost } from "./cite.js";
import type { AnomalyKind } from "./kind.js";

const LUKS = "LUKS header";

export const encrypted: AnomalyKind<AnomalyOf<"QCOW2-ENCRYPTED">> = {
  severity: "medium",
  category: "confidentiality",
  meaning: "guest data is encrypted (crypt_method ≠ 0): unreadable without the key",
  note: (a) =>
    `image is encrypted (method ${a.method}, ${a.methodName}) — contents are inaccessible without the key${a.method === 1 ? "; legacy AES-CBC with predictable IVs is weak (known-plaintext and watermarking attacks), QEMU no longer creates it" : ""}`,
  evidence: (a) => [
    atHost("crypt_method", String(a.method), 32, 4, "QCOW2 header"),
    { field: "encryption_method", value: a.methodName },
  ],
};

export const luks: AnomalyKind<AnomalyOf<"QCOW2-LUKS">> = {
  severity: "info",
  category: "confidentiality",
  meaning:
    "facts of the LUKS header, readable without any key: cipher, mode, hash, key slots, UUID",
  note: (a) =>
    a.problem !== null
      ? `the LUKS header at 0x${a.offset.toString(16)} cannot be read: ${a.problem}`
      : `LUKS${a.version} header: ${a.cipher}-${a.mode}, hash ${a.hash}, ${a.activeSlots.length} active key slot(s), UUID ${a.uuid} — each active slot is one passphrase (or key) that unlocks the disk`,
  evidence: (a) => {
    if (a.problem !== null) return [atHost("luks_header", a.problem, a.offset, undefined, LUKS)];
    const out: Evidence[] = [
      atHost("version", String(a.version), a.offset + 6, 2, LUKS),
      atHost("cipher_name", String(a.cipher), a.offset + 8, 32, LUKS),
      atHost("cipher_mode", String(a.mode), a.offset + 40, 32, LUKS),
      atHost("hash_spec", String(a.hash), a.offset + 72, 32, LUKS),
      atHost("payload_offset", String(a.payloadOffset), a.offset + 104, 4, LUKS),
      atHost("key_bytes", String(a.keyBytes), a.offset + 108, 4, LUKS),
      atHost("mk_digest_iterations", String(a.mkDigestIterations), a.offset + 164, 4, LUKS),
      atHost("uuid", String(a.uuid), a.offset + 168, 40, LUKS),
    ];
    for (const s of a.activeSlots) {
      out.push(
        atHost(
          `key_slot_${s.index}`,
          `active, ${s.iterations} iterations, ${s.stripes} stripes, key material at ${s.keyMaterialOffset}`,
          a.offset + 208 + 48 * s.index,
          48,
          LUKS,
        ),
      );
    }
    return out;
  },
};
