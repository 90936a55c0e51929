// The member's Ed25519 key: made by WebCrypto in this browser, non-extractable, kept in
// IndexedDB. Only the public key ever leaves the device.

import { concat, encode, fromHex, toHex } from "./msgpack.js";

const DB = "letsnode";
const STORE = "keys";
const ID = "member";
const utf8 = new TextEncoder();

export const DOMAIN_ORDER = utf8.encode("letsnode/order/v1\0");
export const DOMAIN_REMOTE_ORDER = utf8.encode("letsnode/remote-order/v1\0");
export const DOMAIN_SESSION = utf8.encode("letsnode/session/v1\0");
export const DOMAIN_JOIN = utf8.encode("letsnode/join/v1\0");

function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function withStore(mode, fn) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = fn(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error);
    });
  } finally {
    db.close();
  }
}

export function cryptoAvailable() {
  return Boolean(window.isSecureContext && crypto.subtle);
}

export async function loadIdentity() {
  return (await withStore("readonly", (s) => s.get(ID))) || null;
}

export async function saveIdentity(identity) {
  await withStore("readwrite", (s) => s.put(identity, ID));
}

export async function forgetIdentity() {
  await withStore("readwrite", (s) => s.delete(ID));
}

export async function newIdentity() {
  const pair = await crypto.subtle.generateKey({ name: "Ed25519" }, false, ["sign", "verify"]);
  const raw = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const identity = { privateKey: pair.privateKey, publicKey: toHex(raw), handle: null };
  await saveIdentity(identity);
  return identity;
}

export async function sign(identity, domain, message) {
  const signature = await crypto.subtle.sign(
    { name: "Ed25519" },
    identity.privateKey,
    concat(domain, message),
  );
  return toHex(new Uint8Array(signature));
}

// The order exactly as letsnode/core/wire/entries.py encodes it (protocol/SPEC.md §4).
export function orderBytes({ communityId, payer, payee, amountMinor, nonce, memo }) {
  return encode([
    "letsnode/order",
    1,
    fromHex(communityId),
    payer,
    payee,
    BigInt(amountMinor),
    BigInt(nonce),
    memo,
  ]);
}

// A payment to a member of another community, exactly as letsnode/core/wire/transfers.py
// encodes a RemoteOrder (protocol/SPEC.md §6.2): both community ids are 32-byte bin fields.
export function remoteOrderBytes({
  communityId,
  payer,
  payeeCommunity,
  payeeHandle,
  amountMinor,
  nonce,
  memo,
}) {
  return encode([
    "letsnode/remote-order",
    1,
    fromHex(communityId),
    payer,
    fromHex(payeeCommunity),
    payeeHandle,
    BigInt(amountMinor),
    BigInt(nonce),
    memo,
  ]);
}

export function fingerprint(hex) {
  return hex.slice(0, 8).match(/..../g).join(" ");
}

export { fromHex, toHex, utf8 };
