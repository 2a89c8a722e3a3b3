// The heartbeat of SSE sessions (npm `eventsource` + fetch): pings answered by POST keep the
// stream open, before and after an upgrade to WebSocket; unanswered ones close it. Time is
// what is tested here, so this file sleeps.
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startServer } from "../lib/server.mjs";
import { SseClient, UpgradeSocket } from "../lib/sse.mjs";

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
/** More than three intervals, and more than interval + timeout after the third ping. */
const IDLE = 4 * PING_INTERVAL + 100;
/** Scheduling and delivery delays the server may add to its timeout. */
const SLACK = 500;
const UNKNOWN_SID = { code: 1, message: "Session ID unknown" };

describe("sse heartbeat", () => {
  let server;
  const closers = [];
  const openSse = async (options) => {
    const client = await SseClient.open(server.url, options);
    closers.push(() => client.close());
    return client;
  };
  before(async () => {
    server = await startServer("engineio-testbed", {
      PING_INTERVAL: String(PING_INTERVAL),
      PING_TIMEOUT: String(PING_TIMEOUT),
    });
  });
  afterEach(() => {
    for (const close of closers.splice(0)) close();
  });
  after(() => server.stop());

  it("stays open for more than three ping intervals while it answers pings", async () => {
    const client = await openSse();
    const openedAt = performance.now();
    await sleep(IDLE - (performance.now() - openedAt));
    // A busy machine may delay the third ping a little; wait for it rather than fail.
    await client.untilPings(3);
    assert.equal(client.failure, null);
    assert.ok(client.pings >= 3, `saw ${client.pings} pings`);
    assert.ok(!client.packets.some((r) => r.packet === "1"), "no close packet");
    await client.post("4still here");
    assert.deepEqual(await client.untilMessages(1), ["4still here"]);
    assert.equal(client.requests, 1, "the EventSource never reconnected");
  });

  it("is closed by the server pingTimeout after a ping it does not answer", async () => {
    const client = await openSse({ answerPings: false });
    await client.until((p) => p === "2", "the first ping", PING_INTERVAL + SLACK);
    const pingedAt = performance.now();
    const { packet } = await client.until((p) => p === "1", "the close packet");
    const afterPing = performance.now() - pingedAt;
    assert.equal(packet, "1");
    assert.ok(
      afterPing >= PING_TIMEOUT / 4 && afterPing <= PING_TIMEOUT + SLACK,
      `closed ${afterPing.toFixed(0)} ms after the ping`,
    );
    assert.equal(client.pings, 1, "closed after the first unanswered ping");
    const post = await client.post("4too late");
    assert.equal(post.status, 400);
    assert.deepEqual(JSON.parse(post.body), UNKNOWN_SID);
  });

  it("stays open across an upgrade while pings are answered on SSE, then on the WebSocket", async () => {
    const sse = await openSse();
    const openedAt = performance.now();
    await sse.until((p) => p === "2", "the first ping over SSE", PING_INTERVAL + SLACK);
    const ws = UpgradeSocket.forSession(server.url, sse.sid);
    closers.push(() => ws.close());
    await ws.opened;
    ws.send("2probe");
    await ws.until((frames) => frames.includes("3probe"), "3probe");
    await sse.until((p) => p === "6", "the noop event");
    await sse.settled();
    ws.send("5");

    await sleep(IDLE - (performance.now() - openedAt));
    const countPings = (frames) => frames.filter((f) => f === "2").length;
    await ws.until((frames) => sse.pings + countPings(frames) >= 3, "a third ping");
    const wsPings = countPings(ws.frames);
    assert.ok(sse.pings >= 1, "pinged over SSE");
    assert.ok(sse.pings + wsPings >= 3, `pings: ${sse.pings} over SSE, ${wsPings} over WebSocket`);
    assert.ok(wsPings >= 1, "pinged over the WebSocket");
    assert.equal(ws.closed, null, "the WebSocket is still open");
    assert.ok(!ws.frames.includes("1"), "no close packet");
    ws.send("4still here");
    assert.deepEqual(await ws.untilMessages(1), ["4still here"]);
  });
});
