// Faults, through the Socket.IO layer: the network path to the server cut and restored (the
// client reconnects with growing, jittered delays, recovers every event it missed and sends
// what it buffered, once), and WebSocket refused by a proxy or by the server itself (the
// client falls back, works, and starts with the transport that worked when it reconnects).
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { after, afterEach, describe, test } from "node:test";
import { EventSource } from "eventsource";
import WebSocket from "ws";
import { startNode, startOutageProxy, startProxy, startTidings, stopAll } from "./lib/servers.mjs";
import { clients, collect, connected, eventually, once } from "./socket-lib.mjs";

const pool = clients();
afterEach(() => pool.closeAll());
after(stopAll);

/** 1, 2, … `n`. */
const upTo = (n) => Array.from({ length: n }, (_, i) => i + 1);

/**
 * Records how the client reaches the server, through the implementations it takes as options:
 * `tried` lists the transport of each connection it began (`"websocket+"` for a WebSocket
 * that names a session: an upgrade probe), `failures` the error code of each that failed.
 */
function tracker() {
  const record = { tried: [], failures: [] };
  const transportOf = (url) => {
    const query = new URL(url).searchParams;
    return query.get("transport") + (query.has("sid") && query.get("transport") === "websocket" ? "+" : "");
  };
  record.WebSocket = class extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols);
      record.tried.push(transportOf(url));
      this.on("error", (error) => record.failures.push(error.code ?? error.message));
    }
  };
  record.EventSource = class extends EventSource {
    constructor(url, init) {
      super(url, init);
      record.tried.push(transportOf(url));
    }
  };
  record.fetch = (url, init) => {
    // Only the polling GETs that open a session count as a connection begun.
    if (!init?.method && !new URL(url).searchParams.has("sid")) record.tried.push(transportOf(url));
    return fetch(url, init).catch((error) => {
      // The client's own aborts (of what was in flight when it closed a transport) are no failures.
      if (error.name !== "AbortError") record.failures.push(error.cause?.code ?? error.message);
      throw error;
    });
  };
  /** The transports of the sessions it tried to open (upgrade probes and later requests left out). */
  record.handshakes = () => record.tried.filter((name) => !name.endsWith("+"));
  return record;
}

describe("the path to the server cut, then restored", () => {
  // Four attempts are refused while the path is down, the fifth gets through.
  const REFUSED = 4;
  const BACKOFF = { reconnectionDelay: 100, reconnectionDelayMax: 1600, randomizationFactor: 0.5 };
  const nominal = (n) => Math.min(BACKOFF.reconnectionDelayMax, BACKOFF.reconnectionDelay * 2 ** (n - 1));
  // A tick every 10 ms: the server goes on emitting through the outage (about 3 s) and after.
  const PACE = 10;
  const COUNT = 3000;
  // How the client sees the path go: a WebSocket closes, a polling request fails.
  const REASONS = { websocket: "transport close", polling: "transport error" };

  /**
   * Streams ticks from the server behind `proxy` to a socket over `transport`, takes the proxy
   * down mid-stream, emits while offline, and brings the proxy back after four refused attempts.
   */
  async function outage(t, proxy, transport) {
    const record = tracker();
    const socket = pool.open(proxy.url, {
      transports: [transport],
      ...BACKOFF,
      WebSocket: record.WebSocket,
      fetch: record.fetch,
    });
    await connected(socket);
    const id = socket.id;

    const ticks = [];
    const arrivals = [];
    socket.on("tick", (n) => {
      ticks.push(n);
      arrivals.push(performance.now());
    });
    const attempts = [];
    socket.io.on("reconnect_attempt", (n) => attempts.push([n, performance.now()]));
    const errors = [];
    socket.io.on("reconnect_error", (error) => errors.push(error));
    let offline;
    socket.once("disconnect", () => (offline = performance.now()));
    // What failed once the attempts began (not what the cut itself broke).
    let failuresBefore;
    socket.io.once("reconnect_attempt", () => (failuresBefore = record.failures.length));

    socket.emit("stream", { count: COUNT, everyMs: PACE });
    await eventually(() => ticks.length >= 20);
    const disconnected = once(socket, "disconnect");
    await proxy.down();
    const [reason] = await disconnected;
    assert.equal(reason, REASONS[transport]);
    const seen = ticks.length;

    // Offline: buffered, sent once connected again.
    socket.emit("emit-back", "offline", 1);
    const sum = socket.emitWithAck("sum", 40, 2);
    socket.emit("emit-back", "offline", 2);
    assert.equal(socket.sendBuffer.length, 3);
    assert.equal(socket.connected, false);

    await eventually(() => errors.length >= REFUSED, 8_000);
    assert.deepEqual(record.failures.slice(failuresBefore), Array(REFUSED).fill("ECONNREFUSED"));
    const reconnected = once(socket.io, "reconnect", 5_000);
    const back = once(socket, "connect", 5_000);
    let online;
    socket.once("connect", () => (online = performance.now()));
    const hello = once(socket, "hello", 5_000);
    const backs = collect(socket, "emit-back", 2, 5_000);
    await proxy.up();

    const [attempt] = await reconnected;
    assert.equal(attempt, REFUSED + 1);
    await back;
    assert.equal(errors.length, REFUSED);
    assert.equal(socket.recovered, true);
    assert.equal(socket.id, id);
    assert.deepEqual((await hello)[0], { id, nsp: "/", recovered: true });
    assert.deepEqual(
      (await backs).map((args) => args.slice(0, 2)),
      [
        ["offline", 1],
        ["offline", 2],
      ],
    );
    assert.equal(await sum, 42);
    assert.equal(socket.sendBuffer.length, 0);
    // Once each: nothing more comes before the ack of an emit sent after them.
    const more = [];
    socket.on("emit-back", (...args) => more.push(args));
    assert.equal(await socket.emitWithAck("echo", "barrier"), "barrier");
    assert.deepEqual(more, []);

    // Every tick once and in order: those that came before the cut, those the server emitted
    // during the outage (replayed as one burst), and live ones after it.
    await eventually(() => arrivals.length && arrivals.at(-1) - online > 200);
    const last = ticks.length;
    assert.deepEqual(ticks, upTo(last));
    const missed = arrivals.slice(seen).filter((time) => time - online < 100).length;
    // Live, at most 100 / PACE ticks come in 100 ms; the outage lasts more than 1.5 s.
    assert.ok(missed > (3 * 100) / PACE, `${missed} ticks came at once after the reconnection`);

    // The delays: attempt n comes min(100 * 2^(n-1), 1600) ms ±50% after the one before (the
    // first after the disconnection).
    const times = [offline, ...attempts.map(([, time]) => time)];
    assert.deepEqual(
      attempts.map(([n]) => n),
      upTo(REFUSED + 1),
    );
    const gaps = attempts.map(([n], i) => [n, times[i + 1] - times[i]]);
    const shown = gaps.map(([, gap]) => Math.round(gap)).join(", ");
    t.diagnostic(`${transport}: delays ${shown} ms, ${missed} missed ticks replayed, ${last} ticks in all`);
    for (const [n, gap] of gaps) {
      const ms = nominal(n);
      assert.ok(gap >= ms * 0.5 - 5 && gap <= Math.min(ms * 1.5, BACKOFF.reconnectionDelayMax) + 100, `attempt ${n}: ${gap} ms for ${ms}`);
    }
    assert.ok(gaps[4][1] > gaps[1][1] && gaps[3][1] > gaps[0][1], `delays grow: ${shown}`);
    // Jitter: the delays are not their nominal values (all five within 5% of it: about one
    // chance in 20,000).
    const off = gaps.filter(([n, gap]) => Math.abs(gap / nominal(n) - 1) > 0.05);
    assert.ok(off.length > 0, `jittered: ${shown}`);

    // The path carried nothing but the first connection and the one after it was restored.
    assert.deepEqual(record.handshakes(), Array(REFUSED + 2).fill(transport));
  }

  for (const transport of ["websocket", "polling"]) {
    test(`a Tidings server, over ${transport}: backoff, recovery, buffered emits once`, async (t) => {
      const server = await startTidings("socketio-testbed", { RECOVERY: "10000" });
      t.after(() => server.stop());
      const proxy = await startOutageProxy(server.url);
      t.after(() => proxy.stop());
      await outage(t, proxy, transport);
    });
  }

  test("the official Node server, over websocket: backoff, recovery, buffered emits once", async (t) => {
    const server = await startNode("socket.io", {
      pingInterval: 300,
      pingTimeout: 200,
      connectionStateRecovery: { maxDisconnectionDuration: 10_000, skipMiddlewares: true },
    });
    let streaming = true;
    t.after(() => {
      streaming = false;
      return server.stop();
    });
    server.server.on("connection", (socket) => {
      socket.emit("hello", { id: socket.id, nsp: socket.nsp.name, recovered: socket.recovered });
      socket.on("echo", (...args) => args.pop()(...args));
      socket.on("emit-back", (...args) => socket.emit("emit-back", ...args));
      socket.on("sum", (a, b, ack) => ack(a + b));
      // As the Tidings testbed's: emits go on while the socket is away, kept for its return.
      socket.on("stream", async ({ count, everyMs }) => {
        for (let n = 1; n <= count && streaming; n++) {
          socket.emit("tick", n);
          await sleep(everyMs);
        }
      });
    });
    const proxy = await startOutageProxy(server.url);
    t.after(() => proxy.stop());
    await outage(t, proxy, "websocket");
  });
});

describe("websocket refused", () => {
  /**
   * Connects with the default transports to `url`, where WebSocket is refused: checks the
   * fallback to `expected`, that the socket works there, then forces a reconnection and checks
   * that it starts with `expected` at once. `probes` says whether the server offers the upgrade
   * to WebSocket (which the client then tries, and which fails).
   */
  async function refused(url, expected, { fallbacks, probes }) {
    const record = tracker();
    const socket = pool.open(url, {
      reconnectionDelay: 50,
      WebSocket: record.WebSocket,
      EventSource: record.EventSource,
      fetch: record.fetch,
    });
    const route = [];
    socket.io.engine.on("fallback", (from, to) => route.push(`${from}->${to}`));
    await connected(socket);
    assert.deepEqual(route, fallbacks);
    assert.equal(socket.io.engine.transport, expected);
    assert.deepEqual(record.handshakes(), fallbacks.map((step) => step.split("->")[0]).concat(expected));
    // The WebSocket's failure is the refusal, not a lost connection.
    assert.match(String(record.failures[0]), /Unexpected server response: 400/);

    assert.equal(await socket.emitWithAck("sum", 2, 40), 42);
    const ticks = collect(socket, "tick", 50);
    socket.emit("stream", { count: 50 });
    assert.deepEqual(
      (await ticks).map(([n]) => n),
      upTo(50),
    );
    if (probes) {
      // The upgrade was tried, was refused, and the session stayed where it was.
      await eventually(() => record.failures.length === 2);
      assert.deepEqual(record.tried.filter((name) => name === "websocket+"), ["websocket+"]);
    }
    assert.equal((await socket.emitWithAck("whoami")).transport, expected);
    assert.equal(socket.io.engine.transport, expected);

    const firstId = socket.id;
    const tried = record.tried.length;
    const disconnected = once(socket, "disconnect");
    socket.io.engine.close();
    assert.equal((await disconnected)[0], "forced close");
    await once(socket, "connect");
    assert.notEqual(socket.id, firstId);
    assert.equal(socket.io.engine.transport, expected);
    // Straight to the transport that worked: no WebSocket handshake, no fallback; only the
    // upgrade probe, when the server offers the upgrade.
    assert.deepEqual(record.tried.slice(tried), probes ? [expected, "websocket+"] : [expected]);
    assert.equal(await socket.emitWithAck("sum", 1, 2), 3);
    socket.emit("emit-back", "after");
    assert.deepEqual((await once(socket, "emit-back"))[0], "after");
    assert.equal((await socket.emitWithAck("whoami")).transport, expected);
  }

  test("by a proxy in front of a Tidings server: polling, and polling first after a reconnection", async (t) => {
    const server = await startTidings("socketio-testbed");
    t.after(() => server.stop());
    const proxy = await startProxy(server.url, { upgrade: "refuse" });
    t.after(() => proxy.stop());
    await refused(proxy.url, "polling", { fallbacks: ["websocket->polling"], probes: true });
    // The proxy saw the first handshake and the two upgrade probes, nothing else.
    await eventually(() => proxy.upgrades.length >= 3);
    assert.deepEqual(
      proxy.upgrades.map((url) => url.includes("sid=")),
      [false, true, true],
    );
  });

  for (const [transports, expected, fallbacks] of [
    ["polling,sse", "polling", ["websocket->polling"]],
    ["sse", "sse", ["websocket->polling", "polling->sse"]],
  ]) {
    test(`by a Tidings server with TRANSPORTS=${transports}: ${expected}, and ${expected} first after a reconnection`, async (t) => {
      const server = await startTidings("socketio-testbed", { TRANSPORTS: transports });
      t.after(() => server.stop());
      await refused(server.url, expected, { fallbacks, probes: false });
    });
  }
});
