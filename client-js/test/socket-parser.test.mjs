// The codecs of the Socket.IO layer, in isolation: the JSON parser against the official
// socket.io-parser, the MessagePack codec and parser against notepack.io and
// socket.io-msgpack-parser, and the reconnection backoff.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import * as official from "socket.io-parser";
import { load } from "./lib/bundle.mjs";
import { msgpack, officialMsgpack } from "./socket-lib.mjs";

const json = await load("src/socket/parser.ts");
const { backoff } = await load("src/socket/backoff.ts");
const notepack = {
  encode: (value) => new officialMsgpack.Encoder().encode(value)[0],
};

/** Decodes `messages` with a parser's decoder: the packets it emitted. */
function decodeAll(Decoder, messages) {
  const decoder = new Decoder();
  const packets = [];
  decoder.on("decoded", (packet) => packets.push(packet));
  for (const message of messages) decoder.add(message);
  return packets;
}

/** What the official JSON encoder makes of `packet`, binary parts as Uint8Arrays. */
const officialEncode = (packet) =>
  new official.Encoder().encode(packet).map((part) => (typeof part === "string" ? part : new Uint8Array(part)));

/** Packets without the decoder's bookkeeping, binary parts as plain Uint8Arrays. */
const plain = (value) =>
  value instanceof Uint8Array || value instanceof ArrayBuffer
    ? [...new Uint8Array(value)]
    : Array.isArray(value)
      ? value.map(plain)
      : value && typeof value === "object"
        ? Object.fromEntries(
            Object.entries(value)
              .filter(([k, v]) => k !== "attachments" && v !== undefined)
              .map(([k, v]) => [k, plain(v)]),
          )
        : value;

describe("JSON parser", () => {
  const bin = (...bytes) => new Uint8Array(bytes);
  const cases = {
    "connect with auth": { type: 0, nsp: "/", data: { token: "x" } },
    "connect to a namespace": { type: 0, nsp: "/admin", data: { pid: "p", offset: "o" } },
    "disconnect": { type: 1, nsp: "/admin" },
    "event": { type: 2, nsp: "/", data: ["chat", "hi", 1, null, { a: [true] }] },
    "event with an ack id in a namespace": { type: 2, nsp: "/admin", id: 12, data: ["x"] },
    "ack": { type: 3, nsp: "/", id: 3, data: [1, "two"] },
    "connect error": { type: 4, nsp: "/", data: { message: "not authorized", data: { code: 1 } } },
    "binary event": { type: 2, nsp: "/", data: ["up", bin(1, 2), { deep: [bin(3)] }] },
    "binary ack in a namespace": { type: 3, nsp: "/x", id: 7, data: [bin(), "s", bin(9, 9, 9)] },
  };
  for (const [name, packet] of Object.entries(cases)) {
    test(`${name}: encoded as socket.io-parser does, and decoded back`, () => {
      const ours = new json.Encoder().encode(packet);
      assert.deepEqual(ours, officialEncode(packet));
      // Packets with binary data come back as BINARY_EVENT (5) and BINARY_ACK (6).
      const type = ours.length > 1 ? packet.type + 3 : packet.type;
      assert.deepEqual(plain(decodeAll(json.Decoder, ours)), [plain({ ...packet, type })]);
    });
  }

  test("binary types, placeholders and attachments", () => {
    const view = new Uint16Array([0x0102, 0x0304]);
    const buffer = Buffer.from([5, 6]);
    const [text, ...attachments] = new json.Encoder().encode({
      type: 2,
      nsp: "/",
      data: ["b", view.buffer, new DataView(view.buffer, 2), buffer, new Date(0)],
    });
    assert.equal(
      text,
      '53-["b",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1},' +
        '{"_placeholder":true,"num":2},"1970-01-01T00:00:00.000Z"]',
    );
    assert.deepEqual(attachments.map((a) => [...a]), [[...new Uint8Array(view.buffer)], [4, 3], [5, 6]]);
    assert.ok(attachments.every((a) => a instanceof Uint8Array));
  });

  test("a binary packet is emitted once its attachments have come", () => {
    const decoder = new json.Decoder();
    const packets = [];
    decoder.on("decoded", (packet) => packets.push(packet));
    decoder.add('51-/admin,4["a",{"_placeholder":true,"num":0}]');
    assert.equal(packets.length, 0);
    decoder.add(new Uint8Array([7]));
    assert.equal(packets.length, 1);
    assert.equal(packets[0].type, 5);
    assert.equal(packets[0].nsp, "/admin");
    assert.equal(packets[0].id, 4);
    assert.deepEqual([...packets[0].data[1]], [7]);
    // And the decoder takes the next packet.
    decoder.add('2["b"]');
    assert.deepEqual(packets[1].data, ["b"]);
  });

  const malformed = {
    "an empty message": [""],
    "an unknown type": ["9"],
    "invalid JSON": ['2["a"'],
    "an event that is not an array": ['2{"a":1}'],
    "an event without a name": ["2[]"],
    "a connect without data": ["0"],
    "a disconnect with data": ['1["x"]'],
    "an ack that is not an array": ["31{}"],
    "a binary packet without a count": ['5["a",{"_placeholder":true,"num":0}]'],
    "binary data out of turn": [new Uint8Array([1])],
    "text while attachments are awaited": ['51-["a",{"_placeholder":true,"num":0}]', '2["b"]'],
    "a placeholder naming no attachment": ['51-["a",{"_placeholder":true,"num":3}]', new Uint8Array([1])],
  };
  for (const [name, messages] of Object.entries(malformed)) {
    test(`refuses ${name}`, () => {
      assert.throws(() => decodeAll(json.Decoder, messages));
    });
  }
});

describe("MessagePack codec", () => {
  const long = (n) => "x".repeat(n);
  const values = {
    "small ints": [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1],
    "negative ints": [-1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53 - 1)],
    "floats": [1.5, -0.25, 1e-300, Infinity, -Infinity],
    "strings": ["", "a", long(31), long(32), long(255), long(256), long(65535), long(65536), "héllo 🎉"],
    "constants": [true, false, null],
    "arrays": [[], [1, [2, [3]]], Array.from({ length: 16 }, (_, i) => i), Array.from({ length: 65536 }, () => 0)],
    "maps": [{}, { a: 1, b: { c: [null] } }, Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${i}`, i]))],
    "binary": [Buffer.alloc(0), Buffer.from([1, 2, 3]), Buffer.alloc(256, 7), Buffer.alloc(65536, 8)],
  };
  for (const [name, list] of Object.entries(values)) {
    test(`${name}: the bytes notepack.io writes, decoded back`, () => {
      for (const value of list) {
        const ours = msgpack.encode(value);
        assert.deepEqual(Buffer.from(ours), notepack.encode(value), `encoding ${String(value).slice(0, 40)}`);
        assert.deepEqual(plain(msgpack.decode(ours)), plain(value));
      }
    });
  }

  test("integers beyond 2^53 are float 64 (notepack garbles those beyond 2^64)", () => {
    for (const value of [2 ** 53, -(2 ** 60), 1e300]) {
      const encoded = msgpack.encode(value);
      assert.equal(encoded[0], 0xcb);
      assert.equal(msgpack.decode(encoded), value);
    }
  });

  test("binary data of every kind is bin, decoded as Uint8Array", () => {
    const bytes = [1, 2, 3, 4];
    for (const value of [new Uint8Array(bytes), new Uint8Array(bytes).buffer, new DataView(new Uint8Array(bytes).buffer)]) {
      const encoded = msgpack.encode([value]);
      assert.deepEqual([...encoded], [0x91, 0xc4, 4, ...bytes]);
      const [decoded] = msgpack.decode(encoded);
      assert.ok(decoded instanceof Uint8Array);
      assert.deepEqual([...decoded], bytes);
    }
  });

  test("undefined, functions and toJSON as JSON treats them", () => {
    assert.deepEqual(msgpack.decode(msgpack.encode({ a: undefined, f() {}, d: new Date(0), l: [undefined] })), {
      d: "1970-01-01T00:00:00.000Z",
      l: [null],
    });
  });

  test("reads notepack's own extensions and 64-bit ints", () => {
    assert.equal(msgpack.decode(Uint8Array.of(0xd4, 0, 0)), undefined);
    assert.deepEqual(msgpack.decode(notepack.encode(new Date(1234567890123))), new Date(1234567890123));
    assert.deepEqual([...msgpack.decode(notepack.encode(new Uint8Array([9, 8]).buffer))], [9, 8]);
    assert.deepEqual(msgpack.decode(Uint8Array.of(0xd5, 5, 1, 2)), [5, Uint8Array.of(1, 2)]);
    assert.equal(msgpack.decode(Uint8Array.of(0xcf, 0, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)), 2 ** 53 - 1);
    assert.equal(msgpack.decode(Uint8Array.of(0xcf, 0x10, 0, 0, 0, 0, 0, 0, 0)), 2n ** 60n);
    assert.equal(msgpack.decode(Uint8Array.of(0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe)), -2);
    assert.equal(msgpack.decode(Uint8Array.of(0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0)), -(2n ** 63n));
    assert.equal(msgpack.decode(Uint8Array.of(0xca, 0x3f, 0xc0, 0, 0)), 1.5);
  });

  test("a __proto__ key is an own property", () => {
    const decoded = msgpack.decode(Uint8Array.of(0x81, 0xa9, ...Buffer.from("__proto__"), 0x81, 0xa1, 0x78, 1));
    assert.equal(Object.getPrototypeOf(decoded), Object.prototype);
    assert.deepEqual(Object.keys(decoded), ["__proto__"]);
    assert.equal({}.x, undefined);
  });

  for (const [name, bytes] of Object.entries({
    "the reserved byte": [0xc1],
    "a truncated string": [0xa5, 0x61],
    "a truncated array": [0x92, 1],
    "a truncated uint": [0xcd, 1],
    "trailing bytes": [1, 2],
    "nothing": [],
  })) {
    test(`refuses ${name}`, () => {
      assert.throws(() => msgpack.decode(Uint8Array.from(bytes)));
    });
  }
});

describe("MessagePack parser", () => {
  const packets = {
    "connect": { type: 0, data: { token: "123" }, nsp: "/admin" },
    "connect without auth": { type: 0, nsp: "/" },
    "event with binary": { type: 2, data: ["file", Buffer.from([1, 2]), { nested: [Buffer.from([3])] }], nsp: "/" },
    "event with an ack id": { type: 2, data: ["stats"], id: 12, nsp: "/admin" },
    "ack": { id: 13, type: 3, data: ["bar"], nsp: "/" },
    "connect error": { type: 4, data: { message: "no", data: { code: 4 } }, nsp: "/" },
    "disconnect": { type: 1, nsp: "/x" },
  };
  for (const [name, packet] of Object.entries(packets)) {
    test(`${name}: the bytes socket.io-msgpack-parser writes, and both decode each other's`, () => {
      const [ours] = new msgpack.Encoder().encode(packet);
      const [theirs] = new officialMsgpack.Encoder().encode(packet);
      assert.deepEqual(Buffer.from(ours), theirs);
      assert.deepEqual(plain(decodeAll(msgpack.Decoder, [new Uint8Array(theirs)])), [plain(packet)]);
      const decoder = new officialMsgpack.Decoder();
      let decoded;
      decoder.on("decoded", (p) => (decoded = p));
      decoder.add(Buffer.from(ours));
      assert.deepEqual(plain(decoded), plain(packet));
    });
  }

  const malformed = {
    "a text message": '2["a"]',
    "bytes that are not msgpack": Uint8Array.of(0xc1),
    "msgpack that is not a map": notepack.encode([2, "/", ["a"]]),
    "an unknown packet type": notepack.encode({ type: 9, nsp: "/" }),
    "a namespace that is not a string": notepack.encode({ type: 2, nsp: 1, data: ["a"] }),
    "an event without an array": notepack.encode({ type: 2, nsp: "/", data: "a" }),
    "a connect error without data": notepack.encode({ type: 4, nsp: "/" }),
    "an id that is not an integer": notepack.encode({ type: 3, nsp: "/", data: [], id: "1" }),
  };
  for (const [name, message] of Object.entries(malformed)) {
    test(`refuses ${name}`, () => {
      const bytes = typeof message === "string" ? message : new Uint8Array(message);
      assert.throws(() => decodeAll(msgpack.Decoder, [bytes]));
    });
  }
});

describe("backoff", () => {
  const at = (random) => () => random;
  test("doubles from the first delay and stops at the longest", () => {
    const delays = [0, 1, 2, 3, 4].map((attempt) => backoff(attempt, 1000, 5000, 0.5, at(0.5)));
    assert.deepEqual(delays, [1000, 2000, 4000, 5000, 5000]);
    assert.equal(backoff(5000, 1000, 5000, 0.5, at(0.5)), 5000);
    assert.equal(backoff(5000, 0, 5000, 0.5, at(0.5)), 0);
  });
  test("moves up or down by at most the randomization factor", () => {
    assert.equal(backoff(0, 1000, 5000, 0.5, at(0)), 500);
    assert.equal(backoff(0, 1000, 5000, 0.5, at(1)), 1500);
    assert.equal(backoff(1, 1000, 5000, 0.25, at(0)), 1500);
    assert.equal(backoff(2, 1000, 5000, 0.5, at(0)), 2000);
    assert.equal(backoff(1, 1000, 5000, 0, Math.random), 2000);
    const spread = new Set(Array.from({ length: 50 }, () => backoff(0, 1000, 5000, 0.5)));
    assert.ok(spread.size > 10, "random delays differ");
    assert.ok([...spread].every((ms) => ms >= 500 && ms <= 1500));
  });
});
