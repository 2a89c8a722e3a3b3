// The Engine.IO v4 codec (src/engine/packet.ts), table-driven.
import assert from "node:assert/strict";
import { test } from "node:test";
import { load } from "./lib/bundle.mjs";

const { encodePacket, decodePacket, encodePayload, decodePayload, decodeEvent, byteLength } = await load(
  "src/engine/packet.ts",
);

const bytes = (...values) => new Uint8Array(values);

test("packets in their polling form", () => {
  for (const [packet, text] of [
    ["4hello", "4hello"],
    ["2", "2"],
    ["3probe", "3probe"],
    ["4", "4"],
    ["4é✓🎉", "4é✓🎉"],
    [bytes(1, 2, 3, 4), "bAQIDBA=="],
    [bytes(), "b"],
    [bytes(0xff, 0xfe, 0x00), "b//4A"],
  ]) {
    assert.equal(encodePacket(packet), text);
    assert.deepEqual(decodePacket(text), packet);
  }
});

test("a large binary message survives the round trip", () => {
  const large = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256);
  assert.deepEqual(decodePacket(encodePacket(large)), large);
});

test("payloads join packets with the record separator", () => {
  for (const [packets, payload] of [
    [["4hello"], "4hello"],
    [["4a", "2", bytes(1, 2)], "4a\x1e2\x1ebAQI="],
    [["4", "4"], "4\x1e4"],
  ]) {
    assert.equal(encodePayload(packets), payload);
    assert.deepEqual(decodePayload(payload), packets);
  }
});

test("bad base64 throws", () => {
  for (const text of ["b!!!!", "bA"]) assert.throws(() => decodePacket(text), undefined, text);
  assert.throws(() => decodePayload("4ok\x1eb*"));
});

test("SSE events: data as is, or as a JSON string for event: json", () => {
  for (const [type, data, packet] of [
    ["message", "4hello", "4hello"],
    ["message", "4two\nlines", "4two\nlines"],
    ["message", "bAQID", bytes(1, 2, 3)],
    ["json", JSON.stringify("4a\rb"), "4a\rb"],
    ["json", JSON.stringify("4\r\n"), "4\r\n"],
  ]) {
    assert.deepEqual(decodeEvent(type, data), packet);
  }
  assert.throws(() => decodeEvent("json", "4not json"));
});

test("byteLength counts UTF-8 bytes of the polling form", () => {
  for (const [packet, length] of [
    ["4abc", 4],
    ["4é", 3],
    ["4🎉", 5],
    [bytes(1, 2, 3), 5],
  ]) {
    assert.equal(byteLength(packet), length);
  }
});
