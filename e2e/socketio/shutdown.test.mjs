// Graceful shutdown on SIGTERM: every client gets what was queued for it, then its
// connection closes (WebSocket code 1001, "transport close" for socket.io-client, no
// Socket.IO DISCONNECT, so it would reconnect by itself); new handshakes meanwhile get 503;
// the process exits 0 once everyone is gone, or at SHUTDOWN_DEADLINE.
import { afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import WebSocket from "ws";
import { Clients, Inbox, nextEvent } from "../lib/socketio.mjs";
import { RawSocket, wsUrl } from "../lib/rawsocket.mjs";
import { startServer } from "../lib/server.mjs";

/** The burst the raw client asks for: far more than the socket buffers hold. */
const RAW_BURST = { n: 2000, size: 16 * 1024 };
/** The burst each socket.io-client asks for. */
const CLIENT_BURST = { n: 500, size: 1000 };

/** Starts the testbed with room in the queues for the bursts and no heartbeat in the way. */
function start(deadline) {
  return startServer("socketio-testbed", {
    RUST_LOG: process.env.RUST_LOG ?? "error",
    MAX_QUEUED_BYTES: String(128 * 1024 * 1024),
    PING_INTERVAL: "25000",
    PING_TIMEOUT: "20000",
    SHUTDOWN_DEADLINE: String(deadline),
  });
}

/**
 * Asks `raw` for the raw burst and resolves once its first event came (so all of it is
 * queued), with a record of what arrives: `indices` of the events in order, and `closeAfter`,
 * how many events had come when the Engine.IO close packet did. Then `raw` stops reading.
 */
async function pausedBurst(raw) {
  const got = { indices: [], closeAfter: null };
  const first = new Promise((resolve) => {
    raw.onPacket((packet) => {
      if (packet === "1") got.closeAfter = got.indices.length;
      if (!packet.startsWith("42")) return;
      const [event, index] = JSON.parse(packet.slice(2));
      if (event !== "burst") return;
      got.indices.push(index);
      resolve();
    });
  });
  raw.emit("burst", RAW_BURST.n, RAW_BURST.size);
  await first;
  raw.pause();
  return got;
}

/** `[0, 1, …, n - 1]`. */
function upTo(n) {
  return Array.from({ length: n }, (_, i) => i);
}

/** Resolves with the HTTP status and body of a polling handshake. */
async function pollingHandshake(url) {
  const response = await fetch(`${url}/socket.io/?EIO=4&transport=polling`);
  return { status: response.status, body: await response.text() };
}

/** Resolves with the HTTP status that answers a WebSocket handshake. */
function websocketHandshake(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(url));
    ws.on("unexpected-response", (_request, response) => {
      resolve(response.statusCode);
      ws.terminate();
    });
    ws.on("open", () => {
      ws.terminate();
      reject(new Error("the WebSocket handshake succeeded"));
    });
    ws.on("error", () => {});
  });
}

describe("graceful shutdown (SIGTERM)", () => {
  const clients = new Clients();
  afterEach(() => clients.closeAll());

  it("delivers what is queued, closes with 1001 / transport close, refuses new clients with 503, exits 0", async () => {
    const deadline = 10_000;
    const server = await start(deadline);
    const raw = await RawSocket.open(server.url);
    const sockets = {
      websocket: await clients.connect(server.url, "/", { transports: ["websocket"] }),
      polling: await clients.connect(server.url, "/", { transports: ["polling"] }),
    };
    // Each socket.io-client gets its burst, and notes how much of it had come at its close.
    const ends = {};
    for (const [name, socket] of Object.entries(sockets)) {
      const inbox = new Inbox(socket, "burst");
      socket.emit("burst", CLIENT_BURST.n, CLIENT_BURST.size);
      await inbox.first(1);
      ends[name] = nextEvent(socket, "disconnect", { timeout: deadline }).then(([reason]) => ({
        reason,
        indices: inbox.received.map(([index]) => index),
      }));
    }
    // The raw client reads nothing more: most of its burst waits on the server.
    const got = await pausedBurst(raw);

    const signalled = performance.now();
    let exited = null;
    const exit = server.exit("SIGTERM").then((status) => {
      exited = { ...status, after: performance.now() - signalled };
      return exited;
    });

    for (const [name, end] of Object.entries(ends)) {
      assert.deepEqual(
        await end,
        { reason: "transport close", indices: upTo(CLIENT_BURST.n) },
        `${name}: every event of the burst, then "transport close"`,
      );
    }
    // The raw client still holds the shutdown open: new clients are refused meanwhile.
    assert.deepEqual(await pollingHandshake(server.url), {
      status: 503,
      body: '{"code":6,"message":"Server shutting down"}',
    });
    assert.equal(await websocketHandshake(server.url), 503);
    assert.equal(exited, null, "the server waits for the client that has not read yet");

    raw.resume();
    const code = await raw.closed;
    assert.equal(code, 1001, "the WebSocket closes with 1001 (going away)");
    assert.deepEqual(got.indices, upTo(RAW_BURST.n), "every queued event arrived, in order");
    assert.equal(got.closeAfter, RAW_BURST.n, "the close packet came after all of them");

    const status = await exit;
    console.log(`shutdown: exited ${Math.round(status.after)} ms after SIGTERM (deadline ${deadline} ms)`);
    assert.deepEqual({ code: status.code, signal: status.signal }, { code: 0, signal: null });
    assert.ok(status.after < deadline, `exited ${Math.round(status.after)} ms after SIGTERM`);
  });

  it("drops a client that never reads at the deadline, and still exits 0", async () => {
    const deadline = 1000;
    const server = await start(deadline);
    const raw = await RawSocket.open(server.url);
    const got = await pausedBurst(raw);

    const signalled = performance.now();
    const status = await server.exit("SIGTERM");
    const after = performance.now() - signalled;
    console.log(`shutdown: a client that never reads; exited ${Math.round(after)} ms after SIGTERM (deadline ${deadline} ms)`);
    assert.deepEqual(status, { code: 0, signal: null });
    assert.ok(after >= deadline * 0.9, `exited ${Math.round(after)} ms after SIGTERM, before the deadline`);
    assert.ok(after < deadline + 3000, `exited ${Math.round(after)} ms after SIGTERM`);

    // What the socket buffers held arrives, then the connection ends without a close frame.
    raw.resume();
    const code = await raw.closed;
    assert.equal(code, 1006);
    assert.ok(got.indices.length < RAW_BURST.n, "the whole burst arrived");
    assert.equal(got.closeAfter, null, "no close packet");
  });
});
