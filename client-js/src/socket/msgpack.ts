/**
 * A small MessagePack encoder and decoder, writing what notepack.io (the codec of
 * socket.io-msgpack-parser) writes: the smallest form of each integer and string header.
 *
 * Encoding: `null` and `undefined` in an array are nil, and map entries whose value is
 * `undefined` or a function are left out (as JSON does); booleans; safe integers as ints,
 * other numbers as float 64; strings; Uint8Array, ArrayBuffer and the other ArrayBuffer views
 * as `bin`; arrays; objects as maps (after `toJSON` when they have one, so a Date is its ISO
 * string).
 *
 * Decoding: nil is `null`; ints are numbers, or bigints beyond 2^53 - 1; float 32 and 64;
 * `str`; `bin` and notepack's ArrayBuffer extension (type 0) as Uint8Array; notepack's
 * `undefined` (fixext 1 of type 0) and Date (fixext 8 of type 0); other extensions as
 * `[type, bytes]`, as notepack reads them; arrays; maps as objects. Truncated input, the
 * reserved byte `c1` and trailing bytes throw.
 */

const utf8 = new TextEncoder();
const utf16 = new TextDecoder();

/** Encodes one value. */
export function encode(value: unknown): Uint8Array {
  // Headers and numbers go to `out`; strings and binary data are kept aside as they are and
  // copied once, at the end.
  let out: number[] = [];
  const chunks: Uint8Array[] = [];
  let size = 0;
  const raw = (bytes: Uint8Array) => {
    chunks.push(Uint8Array.from(out), bytes);
    size += out.length + bytes.length;
    out = [];
  };
  /** `marker` then `n` as a big-endian integer of `bytes` bytes (two's complement). */
  const int = (marker: number, bytes: number, n: number) => {
    out.push(marker);
    for (let i = bytes; i--; ) out.push(Math.floor(n / 2 ** (8 * i)) & 255);
  };
  /** A length header: the fix form under `fixMax`, else an 8 (if `m8`), 16 or 32-bit length. */
  const head = (len: number, fix: number, fixMax: number, m8: number, m16: number) => {
    if (len < fixMax) out.push(fix | len);
    else if (m8 && len < 0x100) out.push(m8, len);
    else if (len < 0x10000) int(m16, 2, len);
    else int(m16 + 1, 4, len);
  };
  const write = (value: unknown): void => {
    if (value == null) out.push(0xc0);
    else if (typeof value === "boolean") out.push(value ? 0xc3 : 0xc2);
    else if (typeof value === "number") {
      if (!Number.isSafeInteger(value)) {
        const float = new DataView(new ArrayBuffer(8));
        float.setFloat64(0, value);
        out.push(0xcb, ...new Uint8Array(float.buffer));
      } else if (value >= 0) {
        if (value < 0x80) out.push(value);
        else if (value < 0x100) out.push(0xcc, value);
        else if (value < 0x10000) int(0xcd, 2, value);
        else if (value < 2 ** 32) int(0xce, 4, value);
        else int(0xcf, 8, value);
      } else if (value >= -0x20) out.push(value & 255);
      else if (value >= -0x80) out.push(0xd0, value & 255);
      else if (value >= -0x8000) int(0xd1, 2, value);
      else if (value >= -(2 ** 31)) int(0xd2, 4, value);
      else int(0xd3, 8, value);
    } else if (typeof value === "string") {
      const bytes = utf8.encode(value);
      head(bytes.length, 0xa0, 0x20, 0xd9, 0xda);
      raw(bytes);
    } else if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
      const bytes = ArrayBuffer.isView(value)
        ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
        : new Uint8Array(value);
      head(bytes.length, 0, 0, 0xc4, 0xc5);
      raw(bytes);
    } else if (Array.isArray(value)) {
      head(value.length, 0x90, 0x10, 0, 0xdc);
      value.forEach(write);
    } else if (typeof value === "object") {
      const object = value as Record<string, unknown> & { toJSON?: () => unknown };
      if (typeof object.toJSON === "function") return write(object.toJSON());
      const keys = Object.keys(object).filter(
        (key) => object[key] !== undefined && typeof object[key] !== "function",
      );
      head(keys.length, 0x80, 0x10, 0, 0xde);
      for (const key of keys) {
        write(key);
        write(object[key]);
      }
    } else throw new Error("cannot encode a " + typeof value);
  };
  write(value);
  raw(new Uint8Array());
  const result = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    result.set(chunk, at);
    at += chunk.length;
  }
  return result;
}

/** Decodes one value, the whole of `bytes`. */
export function decode(bytes: Uint8Array): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  /** The next `n` bytes. */
  const take = (n: number): Uint8Array => {
    if (at + n > bytes.length) throw new RangeError("truncated");
    return bytes.subarray(at, (at += n));
  };
  /** What `get` reads at the next `n` bytes. */
  const fixed = <T>(n: number, get: (offset: number) => T): T => {
    take(n);
    return get(at - n);
  };
  /** An unsigned integer of `n` bytes (1, 2, 4 or 8). */
  const uint = (n: number): number =>
    fixed(n, (o) =>
      n < 2 ? view.getUint8(o) : n < 4 ? view.getUint16(o) : n < 8 ? view.getUint32(o) : safe(view.getBigUint64(o)),
    ) as number;
  const str = (n: number) => utf16.decode(take(n));
  const array = (n: number): unknown[] => {
    const items = [];
    while (n--) items.push(read());
    return items;
  };
  const map = (n: number) => {
    const entries: [unknown, unknown][] = [];
    while (n--) entries.push([read(), read()]);
    // Makes even a `__proto__` key an own property, as JSON.parse does.
    return Object.fromEntries(entries);
  };
  /** An extension of `n` bytes of data; notepack's own ones have type 0. */
  const ext = (n: number, fix?: boolean): unknown => {
    const type = fixed(1, (o) => view.getInt8(o));
    const data = take(n);
    if (type) return [type, data];
    if (fix && n === 1) return undefined;
    if (fix && n === 8) return new Date(view.getInt32(at - 8) * 2 ** 32 + view.getUint32(at - 4));
    return data;
  };
  const read = (): unknown => {
    const marker = uint(1);
    if (marker < 0x80) return marker;
    if (marker < 0x90) return map(marker & 15);
    if (marker < 0xa0) return array(marker & 15);
    if (marker < 0xc0) return str(marker & 31);
    if (marker >= 0xe0) return marker - 256;
    switch (marker) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
      case 0xc5:
      case 0xc6:
        return take(uint(2 ** (marker - 0xc4)));
      case 0xc7:
      case 0xc8:
      case 0xc9:
        return ext(uint(2 ** (marker - 0xc7)));
      case 0xca:
        return fixed(4, (o) => view.getFloat32(o));
      case 0xcb:
        return fixed(8, (o) => view.getFloat64(o));
      case 0xcc:
      case 0xcd:
      case 0xce:
      case 0xcf:
        return uint(2 ** (marker - 0xcc));
      case 0xd0:
        return fixed(1, (o) => view.getInt8(o));
      case 0xd1:
        return fixed(2, (o) => view.getInt16(o));
      case 0xd2:
        return fixed(4, (o) => view.getInt32(o));
      case 0xd3:
        return fixed(8, (o) => safe(view.getBigInt64(o)));
      case 0xd4:
      case 0xd5:
      case 0xd6:
      case 0xd7:
      case 0xd8:
        return ext(2 ** (marker - 0xd4), true);
      case 0xd9:
      case 0xda:
      case 0xdb:
        return str(uint(2 ** (marker - 0xd9)));
      case 0xdc:
      case 0xdd:
        return array(uint(2 ** (marker - 0xdb)));
      case 0xde:
      case 0xdf:
        return map(uint(2 ** (marker - 0xdd)));
    }
    throw new Error("reserved byte");
  };
  const value = read();
  if (at !== bytes.length) throw new Error("trailing bytes");
  return value;
}

/** A 64-bit integer as a number when it is safe, else as a bigint. */
const safe = (n: bigint): number | bigint =>
  n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(n) : n;
