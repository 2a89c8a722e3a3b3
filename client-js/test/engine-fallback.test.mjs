// Fallback: when a transport cannot open, the next one in `transports` is tried, and the
// next socket to the same endpoint starts with the one that worked.
import assert from "node:assert/strict";
import { afterEach, beforeEach, test } from "node:test";
import { closeSockets, connect, forgetTransports, roundTrip, socket } from "./lib/engine.mjs";
import { startHttp, startProxy, startTidings } from "./lib/servers.mjs";
import { spy } from "./lib/spy.mjs";
import { next } from "./lib/wait.mjs";

beforeEach(forgetTransports);
afterEach(closeSockets);

/** Opens a socket with the default transports, recording its fallbacks. */
async function open(url, options = {}) {
  const engine = socket(url, options);
  const fallbacks = [];
  engine.on("fallback", (from, to, error) => fallbacks.push({ from, to, error }));
  await next(engine, "open");
  return { engine, fallbacks, route: fallbacks.map(({ from, to }) => `${from}->${to}`) };
}

test("falls back to polling when the server refuses websocket, and starts there next time", async () => {
  const server = await startTidings("engineio-testbed", { TRANSPORTS: "polling,sse" });
  const other = await startTidings("engineio-testbed");
  try {
    const first = await open(server.url);
    assert.deepEqual(first.route, ["websocket->polling"]);
    assert.ok(first.fallbacks[0].error, "the fallback carries the websocket's error");
    assert.equal(first.engine.transport, "polling");
    assert.equal(await roundTrip(first.engine, "hello"), "hello");

    const record = spy();
    const second = await open(server.url, { WebSocket: record.WebSocket });
    assert.deepEqual(second.route, []);
    assert.equal(second.engine.transport, "polling");
    assert.deepEqual(record.opened, [], "no WebSocket was tried");
    assert.equal(await roundTrip(second.engine, "transport"), "polling");

    // The memory is per endpoint: another server starts on websocket.
    const elsewhere = await open(other.url);
    assert.deepEqual(elsewhere.route, []);
    assert.equal(elsewhere.engine.transport, "websocket");

    forgetTransports();
    const third = await open(server.url);
    assert.deepEqual(third.route, ["websocket->polling"]);
  } finally {
    closeSockets();
    await Promise.all([server.stop(), other.stop()]);
  }
});

test("falls back along the whole list, down to SSE", async () => {
  const server = await startTidings("engineio-testbed", { TRANSPORTS: "sse" });
  try {
    const first = await open(server.url);
    assert.deepEqual(first.route, ["websocket->polling", "polling->sse"]);
    assert.equal(first.engine.transport, "sse");
    assert.equal(await roundTrip(first.engine, "transport"), "sse");
    const second = await open(server.url);
    assert.deepEqual(second.route, []);
    assert.equal(second.engine.transport, "sse");
  } finally {
    closeSockets();
    await server.stop();
  }
});

test("falls back when websocket does not open within the timeout", async () => {
  const server = await startTidings("engineio-testbed");
  const proxy = await startProxy(server.url, { upgrade: "hang" });
  try {
    const started = Date.now();
    const { engine, fallbacks, route } = await open(proxy.url, { timeout: 300 });
    assert.deepEqual(route, ["websocket->polling"]);
    assert.match(String(fallbacks[0].error), /timeout/);
    assert.ok(Date.now() - started >= 300);
    assert.equal(await roundTrip(engine, "transport"), "polling");
  } finally {
    closeSockets();
    await proxy.stop();
    await server.stop();
  }
});

test("behind a network that blocks websocket: falls back, stays on polling, and the next socket starts there", async () => {
  const server = await startTidings("engineio-testbed");
  const proxy = await startProxy(server.url, { upgrade: "refuse" });
  try {
    const first = await open(proxy.url);
    assert.deepEqual(first.route, ["websocket->polling"]);
    assert.equal(await roundTrip(first.engine, "transport"), "polling");
    const record = spy();
    const second = await open(proxy.url, { WebSocket: record.WebSocket });
    assert.deepEqual(second.route, []);
    assert.equal(second.engine.transport, "polling");
    // Its only WebSocket is its upgrade probe, which names the session (and fails).
    assert.equal(record.opened.length, 1);
    assert.match(record.opened[0], new RegExp(`sid=${second.engine.id}`));
    await record.until((r) => r.closed.length === 1);
    assert.equal(await roundTrip(second.engine, "transport"), "polling");
  } finally {
    closeSockets();
    await proxy.stop();
    await server.stop();
  }
});

test("a successful upgrade forgets the fallback: the next socket tries websocket first again", async () => {
  const server = await startTidings("engineio-testbed");
  // WebSocket handshakes are refused, upgrade probes (which name the session) get through.
  const proxy = await startProxy(server.url, { upgrade: (req) => (req.url.includes("sid=") ? "pass" : "refuse") });
  try {
    const first = await open(proxy.url);
    assert.deepEqual(first.route, ["websocket->polling"]);
    assert.deepEqual(await next(first.engine, "upgrade"), ["websocket"]);
    assert.equal(await roundTrip(first.engine, "transport"), "websocket");
    const second = await open(proxy.url);
    assert.deepEqual(second.route, ["websocket->polling"]);
  } finally {
    closeSockets();
    await proxy.stop();
    await server.stop();
  }
});

test('closes with "transport error" when no transport opens', async () => {
  // A port on which nothing listens any more.
  const gone = await startHttp(() => {});
  await gone.stop();
  const engine = socket(gone.url, { transports: ["websocket", "polling", "sse"] });
  const fallbacks = [];
  engine.on("fallback", (from, to) => fallbacks.push(`${from}->${to}`));
  engine.on("open", () => assert.fail("opened"));
  const [reason, error] = await next(engine, "close");
  assert.equal(reason, "transport error");
  assert.ok(error, "the close carries the last transport's error");
  assert.deepEqual(fallbacks, ["websocket->polling", "polling->sse"]);
  assert.equal(engine.readyState, "closed");
});

test("falls back when the first answer is not an open packet", async () => {
  // A fake polling server that answers the handshake with a message, then properly.
  let handshakes = 0;
  const fake = await startHttp((req, res) => {
    const url = new URL(req.url, "http://x");
    if (url.searchParams.get("transport") === "polling" && handshakes++ === 0) return res.end("4hello");
    res.writeHead(400).end();
  });
  try {
    const engine = socket(fake.url, { transports: ["polling", "sse"] });
    const fallback = next(engine, "fallback");
    const closed = next(engine, "close");
    const [from, to, error] = await fallback;
    assert.deepEqual([from, to], ["polling", "sse"]);
    assert.match(error.message, /not an open packet: 4hello/);
    const [reason] = await closed;
    assert.equal(reason, "transport error");
    assert.equal(handshakes, 1);
  } finally {
    await fake.stop();
  }
});
