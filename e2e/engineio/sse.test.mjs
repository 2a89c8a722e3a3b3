// The SSE transport (a Tidings extension) with the real npm `eventsource` and fetch: the
// handshake and its headers, echo of awkward text and binary, and a server-side close.
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { startServer } from "../lib/server.mjs";
import { RELAXED_HEARTBEAT } from "../lib/engineio.mjs";
import { SseClient } from "../lib/sse.mjs";

const UNKNOWN_SID = { code: 1, message: "Session ID unknown" };

describe("sse transport", () => {
  let server;
  const clients = [];
  const open = async (options) => {
    const client = await SseClient.open(server.url, options);
    clients.push(client);
    return client;
  };
  before(async () => {
    server = await startServer("engineio-testbed", RELAXED_HEARTBEAT);
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  after(() => server.stop());

  it("opens with an event stream whose first event is the open packet", async () => {
    const client = await open();
    const { response } = client;
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type"), /^text\/event-stream\b/);
    assert.equal(response.headers.get("x-accel-buffering"), "no");
    assert.match(response.headers.get("cache-control"), /\bno-cache\b/);
    assert.equal(client.packets[0].event, "message");
    assert.match(client.sid, /^[A-Za-z0-9_-]{20}$/);
    assert.deepEqual(client.open, {
      sid: client.sid,
      upgrades: ["websocket"],
      pingInterval: Number(RELAXED_HEARTBEAT.PING_INTERVAL),
      pingTimeout: Number(RELAXED_HEARTBEAT.PING_TIMEOUT),
      maxPayload: 1_000_000,
    });
  });

  it("echoes text messages of one POST in order", async () => {
    const client = await open();
    const texts = ["4hello", "4", "4line\u2028separator", "4emoji 😀 漢字"];
    // `transport` is answered with the session's transport.
    const sent = [...texts, "4transport"];
    assert.deepEqual(await client.post(...sent), { status: 200, body: "ok" });
    const received = await client.untilMessages(sent.length);
    assert.deepEqual(received, [...texts, "4sse"]);
  });

  it("echoes binary as b and base64", async () => {
    const client = await open();
    const small = Buffer.from([0, 1, 2, 254, 255]);
    const large = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 13) % 256));
    const packets = [small, large].map((b) => `b${b.toString("base64")}`);
    assert.deepEqual(await client.post(...packets), { status: 200, body: "ok" });
    const received = await client.untilMessages(2);
    assert.deepEqual(received, packets);
    assert.ok(Buffer.from(received[1].slice(1), "base64").equals(large));
  });

  it("round-trips newlines and carriage returns", async () => {
    const client = await open();
    const sent = ["4two\nlines", "4carriage\rreturn", "4crlf\r\nend", "4\n", "4trailing\n\n"];
    await client.post(...sent);
    await client.untilMessages(sent.length);
    const records = client.packets.filter((r) => r.packet.startsWith("4"));
    assert.deepEqual(records.map((r) => r.packet), sent);
    // A packet with a carriage return cannot be plain event data: it comes as a `json` event.
    assert.deepEqual(
      records.map((r) => r.event),
      ["message", "json", "json", "message", "message"],
    );
  });

  it("a server-side close ends the stream after the queued messages", async () => {
    const client = await open();
    await client.post("4burst:3", "4close", "4after close");
    await client.until((p) => p === "1", "the close packet");
    assert.deepEqual(client.messages(), ["40", "41", "42"]);
    const after = await client.post("4too late");
    assert.deepEqual(JSON.parse(after.body), UNKNOWN_SID);
  });

  it("refuses a second event stream for the session", async () => {
    const client = await open();
    const response = await fetch(client.url());
    assert.equal(response.status, 400);
    assert.equal(JSON.parse(await response.text()).code, 3);
  });
});
