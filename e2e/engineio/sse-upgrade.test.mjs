// Upgrading an SSE session (npm `eventsource` + fetch) to WebSocket (npm `ws`): the probe, the
// noop that ends the stream, `5`, and messages queued meanwhile arriving exactly once, in order.
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { startServer } from "../lib/server.mjs";
import { RELAXED_HEARTBEAT, firstDifference, numbers } from "../lib/engineio.mjs";
import { SseClient, UpgradeSocket } from "../lib/sse.mjs";

describe("sse upgrade to websocket", () => {
  let server;
  const closers = [];
  before(async () => {
    server = await startServer("engineio-testbed", RELAXED_HEARTBEAT);
  });
  afterEach(() => {
    for (const close of closers.splice(0)) close();
  });
  after(() => server.stop());

  const openSse = async () => {
    const client = await SseClient.open(server.url);
    closers.push(() => client.close());
    return client;
  };
  const openWs = async (sid) => {
    const ws = UpgradeSocket.forSession(server.url, sid);
    closers.push(() => ws.close());
    await ws.opened;
    return ws;
  };

  it("probes, ends the stream with a noop, and then echoes over the WebSocket", async () => {
    const sse = await openSse();
    await sse.post("4before");
    assert.deepEqual(await sse.untilMessages(1), ["4before"]);

    const ws = await openWs(sse.sid);
    ws.send("2probe");
    await ws.until((frames) => frames.includes("3probe"), "3probe");
    assert.equal(ws.frames[0], "3probe", "the probe answer comes first");
    const noop = await sse.until((p) => p === "6", "the noop event");
    assert.equal(noop.event, "message");
    await sse.settled();
    ws.send("5");

    ws.send("4hello over ws");
    ws.send(Buffer.from([9, 8, 7]));
    ws.send("4transport");
    const received = await ws.untilMessages(3);
    assert.equal(received[0], "4hello over ws");
    assert.ok(Buffer.isBuffer(received[1]) && received[1].equals(Buffer.from([9, 8, 7])));
    assert.equal(received[2], "4websocket", "the server says the session runs on websocket");

    // The stream delivered nothing after the noop, and the EventSource never reconnected.
    assert.equal(sse.packets.at(-1).packet, "6");
    assert.equal(sse.requests, 1);
    assert.equal(sse.failure, null);
    // The session no longer takes POSTs over SSE.
    const post = await sse.post("4late");
    assert.equal(post.status, 400);
    assert.equal(JSON.parse(post.body).code, 3);
  });

  it("ends the HTTP response of the event stream right after the noop", async () => {
    // A raw fetch, to see the response body end (EventSource hides that).
    const response = await fetch(`${server.url}/engine.io/?EIO=4&transport=sse`, {
      signal: AbortSignal.timeout(5_000),
    });
    const reader = response.body.getReader();
    closers.push(() => reader.cancel().catch(() => {}));
    const decoder = new TextDecoder();
    let text = "";
    const readUntil = async (predicate) => {
      while (!predicate(text)) {
        const { done, value } = await reader.read();
        if (done) return true;
        text += decoder.decode(value, { stream: true });
      }
      return false;
    };
    await readUntil((t) => t.includes("\n\n"));
    const sid = JSON.parse(text.match(/^data: 0(.*)\n\n/)[1]).sid;
    const ws = await openWs(sid);
    ws.send("2probe");
    await ws.until((frames) => frames.includes("3probe"), "3probe");
    const ended = await readUntil(() => false);
    assert.equal(ended, true);
    const tail = JSON.stringify(text.slice(-40));
    assert.ok(text.endsWith("data: 6\n\n"), `the stream ends with the noop: ${tail}`);
    ws.send("5");
    ws.send("4after");
    assert.deepEqual(await ws.untilMessages(1), ["4after"]);
  });

  it("carries a server-side close that comes between the probe answer and `5`", async () => {
    // A client that got `3probe` stops using its old transport once the noop arrives, so
    // only the WebSocket can tell it of the close (engine.io-client would otherwise wait
    // for a ping that never comes).
    const sse = await openSse();
    const ws = await openWs(sse.sid);
    ws.send("2probe");
    await ws.until((frames) => frames.includes("3probe"), "3probe");
    await sse.until((p) => p === "6", "the noop event");
    await sse.post("4burst:2", "4close");
    await sse.settled();
    // Give a wrongly closed WebSocket time to show it.
    await sleep(100);
    assert.equal(ws.closed, null, "the WebSocket waits for `5`");
    ws.send("5");
    await ws.until(() => ws.closed !== null, "the close frame");
    assert.deepEqual(ws.frames, ["3probe", "40", "41", "1"]);
    assert.equal(ws.closed, 1000);
  });

  it("delivers messages queued during the upgrade exactly once, in order, across both", async () => {
    const sse = await openSse();
    const burst = 2_000;
    // A: queued before the probe; it starts down the event stream.
    await sse.post(`4burst:${burst}`);
    const ws = await openWs(sse.sid);
    ws.send("2probe");
    await ws.until((frames) => frames.includes("3probe"), "3probe");
    // B: queued after the probe, while the stream is being ended.
    await sse.post(`4burst:${burst}`);
    await sse.until((p) => p === "6", "the noop event");
    // C: queued after the stream ended and before `5`: it can only go to the WebSocket.
    await sse.post(`4burst:${burst}`);
    await sse.settled();
    ws.send("5");

    const expected = [...numbers(burst), ...numbers(burst), ...numbers(burst)].map((n) => `4${n}`);
    const overSse = sse.messages();
    await ws.untilMessages(expected.length - overSse.length, 10_000);
    const received = [...overSse, ...ws.messages()];
    assert.equal(firstDifference(received, expected), null);
    assert.ok(overSse.length >= burst, `over SSE: ${overSse.length}`);
    assert.ok(ws.messages().length >= burst, `over WebSocket: ${ws.messages().length}`);
    // Nothing trails behind.
    ws.send("4end");
    const all = await ws.untilMessages(expected.length - overSse.length + 1);
    assert.equal(all.at(-1), "4end");
    assert.equal(all.length, expected.length - overSse.length + 1);
  });
});
