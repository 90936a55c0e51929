// The canonical msgpack subset a payment order needs, byte for byte what the node's
// encoder (Python msgpack, shortest forms) produces: arrays, non-negative integers up to
// int64, UTF-8 strings and byte strings.

const utf8 = new TextEncoder();

export function encode(value) {
  const out = [];
  write(out, value);
  return Uint8Array.from(out);
}

function push(out, bytes) {
  for (const b of bytes) out.push(b);
}

function uintBytes(n, size) {
  const bytes = [];
  for (let i = size - 1; i >= 0; i--) bytes.push(Number((n >> BigInt(8 * i)) & 0xffn));
  return bytes;
}

function write(out, value) {
  if (Array.isArray(value)) {
    if (value.length < 16) out.push(0x90 | value.length);
    else if (value.length < 0x10000) push(out, [0xdc, ...uintBytes(BigInt(value.length), 2)]);
    else throw new Error("array too long");
    for (const item of value) write(out, item);
  } else if (typeof value === "number" || typeof value === "bigint") {
    const n = BigInt(value);
    if (n < 0n || n > 0x7fffffffffffffffn) throw new Error("integer out of range");
    if (n < 0x80n) out.push(Number(n));
    else if (n < 0x100n) push(out, [0xcc, Number(n)]);
    else if (n < 0x10000n) push(out, [0xcd, ...uintBytes(n, 2)]);
    else if (n < 0x100000000n) push(out, [0xce, ...uintBytes(n, 4)]);
    else push(out, [0xcf, ...uintBytes(n, 8)]);
  } else if (typeof value === "string") {
    const bytes = utf8.encode(value);
    const n = bytes.length;
    if (n < 32) out.push(0xa0 | n);
    else if (n < 0x100) push(out, [0xd9, n]);
    else if (n < 0x10000) push(out, [0xda, ...uintBytes(BigInt(n), 2)]);
    else throw new Error("string too long");
    push(out, bytes);
  } else if (value instanceof Uint8Array) {
    if (value.length >= 0x100) throw new Error("bytes too long");
    push(out, [0xc4, value.length]);
    push(out, value);
  } else {
    throw new Error(`cannot encode ${typeof value}`);
  }
}

export function toHex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function fromHex(hex) {
  if (!/^([0-9a-f]{2})*$/.test(hex)) throw new Error("not hex");
  return Uint8Array.from(hex.match(/../g) || [], (pair) => parseInt(pair, 16));
}

export function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
