// Every limit the server enforces and every attack it withstands, one row each: the row
// asserts exactly what the attacker gets (HTTP status and Engine.IO error JSON, WebSocket
// close code, CONNECT_ERROR, disconnect reason), and that a bystander, an official
// socket.io-client connected before the attack, still completes an echo afterwards.
//
// Rows whose limits can share a server do; the others get a server of their own.
import { after, afterEach, describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import WebSocket from "ws";
import { RawSocket, wsUrl } from "../lib/rawsocket.mjs";
import { startServer } from "../lib/server.mjs";
import { Clients, Watcher, ack, nextEvent } from "../lib/socketio.mjs";

const EVIL = "http://evil.example";
const OPEN = "/socket.io/?EIO=4";

/** Limits low enough to reach, on one server. */
const SHARED = {
  // Pings rare enough that a long-poll stays pending, answered well within the half-open
  // row's wait.
  PING_INTERVAL: "2000",
  PING_TIMEOUT: "1000",
  MAX_PAYLOAD: "1000",
  MAX_ATTACHMENTS: "2",
  MAX_ROOMS: "2",
  MAX_DYNAMIC_NAMESPACES: "1",
};

/** A server of its own for a row: `SHARED`'s timings, with `env`'s limits. */
const own = (env) => ({ PING_INTERVAL: SHARED.PING_INTERVAL, PING_TIMEOUT: SHARED.PING_TIMEOUT, ...env });

const error = (code, message) => ({ code, message });

/** Resolves with `{ status, body }` of a request to the server's Engine.IO path. */
async function request(url, query, { method = "GET", origin, body } = {}) {
  const headers = origin ? { origin } : {};
  const response = await fetch(`${url}${OPEN}&${query}`, { method, headers, body });
  const text = await response.text();
  const json = response.headers.get("content-type")?.startsWith("application/json");
  return { status: response.status, body: json ? JSON.parse(text) : text };
}

/** Opens a long-polling session; resolves with its id. */
async function pollingSession(url) {
  const { status, body } = await request(url, "transport=polling");
  assert.equal(status, 200, "the handshake succeeds");
  return JSON.parse(body.slice(1)).sid;
}

/**
 * Opens a long-polling session besides the bystander's, then asserts that the next
 * handshake is answered `status` with `body`.
 */
async function thirdHandshake(url, status, body) {
  await pollingSession(url);
  assert.deepEqual(await request(url, "transport=polling"), { status, body });
}

/** A WebSocket handshake refused before the upgrade: resolves with `{ status, body }`. */
function refusedWebSocket(url, options = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(url), options);
    ws.once("open", () => reject(new Error("the WebSocket was accepted")));
    ws.once("error", () => {});
    ws.once("unexpected-response", (_request, response) => {
      let text = "";
      response.on("data", (chunk) => (text += chunk));
      response.on("end", () => {
        ws.terminate();
        resolve({ status: response.statusCode, body: JSON.parse(text) });
      });
    });
  });
}

/**
 * A WebSocket by hand over TCP, for bytes no WebSocket library sends: resolves once the
 * server switched protocols; `closeCode()` resolves with the code of the server's close
 * frame.
 */
function handmadeWebSocket(url) {
  const { port } = new URL(url);
  const socket = net.connect(Number(port), "127.0.0.1");
  let received = Buffer.alloc(0);
  let upgraded = false;
  const waiters = [];
  socket.on("error", () => {});
  socket.on("data", (chunk) => {
    received = Buffer.concat([received, chunk]);
    if (!upgraded) {
      const end = received.indexOf("\r\n\r\n");
      if (end < 0) return;
      assert.match(received.subarray(0, end).toString(), /^HTTP\/1\.1 101/);
      received = received.subarray(end + 4);
      upgraded = true;
    }
    for (const waiter of [...waiters]) waiter();
  });
  /** The server's frames so far, as `{ opcode, payload }`. */
  const frames = () => {
    const parsed = [];
    let at = 0;
    while (at + 2 <= received.length) {
      let length = received[at + 1] & 0x7f;
      let start = at + 2;
      if (length === 126) [length, start] = [received.readUInt16BE(at + 2), at + 4];
      else if (length === 127) [length, start] = [Number(received.readBigUInt64BE(at + 2)), at + 10];
      if (start + length > received.length) break;
      parsed.push({ opcode: received[at] & 0x0f, payload: received.subarray(start, start + length) });
      at = start + length;
    }
    return parsed;
  };
  const until = (what, check) =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within 5 s`)), 5_000);
      const waiter = () => {
        const value = check();
        if (value === undefined) return;
        clearTimeout(timer);
        waiters.splice(waiters.indexOf(waiter), 1);
        resolve(value);
      };
      waiters.push(waiter);
      waiter();
    });
  const key = Buffer.from("limits-test-key!").toString("base64");
  socket.write(
    `GET ${OPEN}&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n` +
      `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
      "Sec-WebSocket-Version: 13\r\n\r\n",
  );
  const ws = {
    write: (bytes) => socket.write(bytes),
    closeCode: () =>
      until("close frame", () => {
        const close = frames().find((f) => f.opcode === 0x8);
        return close && close.payload.readUInt16BE(0);
      }),
    destroy: () => socket.destroy(),
  };
  return until("upgrade", () => (upgraded && frames().length > 0 ? ws : undefined));
}

/**
 * A socket of `/` over a `ws` WebSocket that never answers pings: a half-open client.
 * Resolves with `{ id, closed }` once connected.
 */
function silentSocket(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(wsUrl(url));
    const closed = new Promise((done) => ws.once("close", done));
    ws.once("error", reject);
    ws.on("message", (data) => {
      const packet = data.toString();
      if (packet.startsWith("0")) ws.send("40");
      else if (packet.startsWith("40")) resolve({ id: JSON.parse(packet.slice(2)).sid, closed, ws });
    });
  });
}

/** Emits `count` echoes without acks. */
function echoes(socket, count) {
  for (let i = 0; i < count; i++) socket.emit("echo", i);
}

/**
 * A row: a socket of `/` over a raw WebSocket sends `message`; the server closes the
 * WebSocket with `code` and the socket disconnects with `reason`.
 */
const sent = (message, code, reason) => ({
  attack: async ({ url, watch }) => {
    const socket = await RawSocket.open(url);
    socket.ws.send(message);
    assert.equal(await socket.closed, code);
    assert.equal(await watch.reasonOf(socket.id), reason);
  },
});

/**
 * The rows: `env` (the server's settings, `SHARED` when left out) and `attack(context)`,
 * which makes the attack and asserts what the attacker gets. `context` has the server's
 * `url`, `clients` (socket.io-client sockets and bare engines, closed after the row), the
 * bystander's `watch` (disconnect reasons by socket id) and `cleanup(fn)`.
 */
const ROWS = {
  "origin refused (polling)": {
    attack: async ({ url }) => {
      const refused = await request(url, "transport=polling", { origin: EVIL });
      assert.deepEqual(refused, { status: 403, body: error(4, "Origin not allowed") });
    },
  },
  "origin refused (websocket)": {
    attack: async ({ url }) => {
      const refused = await refusedWebSocket(url, { origin: EVIL });
      assert.deepEqual(refused, { status: 403, body: error(4, "Origin not allowed") });
    },
  },
  "origin refused (sse)": {
    attack: async ({ url }) => {
      const refused = await request(url, "transport=sse", { origin: EVIL });
      assert.deepEqual(refused, { status: 403, body: error(4, "Origin not allowed") });
    },
  },
  "max connections": {
    env: own({ MAX_CONNECTIONS: "2" }),
    attack: async ({ url }) => {
      await thirdHandshake(url, 503, error(7, "Too many connections"));
      const websocket = await refusedWebSocket(url);
      assert.deepEqual(websocket, { status: 503, body: error(7, "Too many connections") });
    },
  },
  "max payload (polling POST)": {
    attack: async ({ url }) => {
      const sid = await pollingSession(url);
      const post = await request(url, `transport=polling&sid=${sid}`, {
        method: "POST",
        body: `4${"x".repeat(2_000)}`,
      });
      assert.deepEqual(post, { status: 413, body: error(3, "Payload too large") });
    },
  },
  "max payload (websocket)": sent(`42${JSON.stringify(["echo", "x".repeat(2_000)])}`, 1009, "transport error"),
  "max attachments": sent('453-["echo",{"_placeholder":true,"num":0}]', 1000, "parse error"),
  "max rooms per socket": {
    attack: async ({ url, clients }) => {
      const socket = await clients.connect(url, "/", { transports: ["websocket"] });
      assert.deepEqual(await ack(socket, "join", ["a", "b"]), [["a", "b"]]);
      assert.deepEqual(await ack(socket, "join", ["c"]), [
        { error: "the socket would be in more than 2 rooms" },
      ]);
      assert.deepEqual(await ack(socket, "leave", "a"), [["b"]]);
    },
  },
  "max dynamic namespaces": {
    attack: async ({ url, clients }) => {
      const engine = await clients.engine(url, ["websocket"]);
      const exchange = async (packet) => {
        const reply = nextEvent(engine, "message");
        engine.send(packet);
        return (await reply)[0];
      };
      // Socket.IO packets by hand: CONNECT is `0`, CONNECT_ERROR `4`.
      assert.match(await exchange("0/dyn-1,"), /^0\/dyn-1,\{"sid":"[^"]+"\}$/);
      assert.equal(await exchange("0/dyn-2,"), '4/dyn-2,{"message":"Too many namespaces"}');
      // The official client reports it as a connect_error.
      const refused = clients.socket(url, "/dyn-3", { transports: ["websocket"] });
      const [error] = await nextEvent(refused, "connect_error");
      assert.equal(error.message, "Too many namespaces");
    },
  },
  "event rate (drop)": {
    env: own({ EVENT_RATE: "3/60000" }),
    attack: async ({ url, clients }) => {
      const socket = await clients.connect(url, "/", { transports: ["websocket"] });
      const warned = nextEvent(socket, "error");
      echoes(socket, 4);
      assert.deepEqual(await warned, [{ message: "Rate limit exceeded", event: "echo" }]);
      assert.ok(socket.connected, "the socket stays");
    },
  },
  "event rate (disconnect)": {
    env: own({ EVENT_RATE: "3/60000/disconnect" }),
    attack: async ({ url, clients, watch }) => {
      const socket = await clients.connect(url, "/", { transports: ["websocket"] });
      const id = socket.id;
      const warned = nextEvent(socket, "error");
      const gone = new Promise((resolve) => socket.once("disconnect", resolve));
      echoes(socket, 4);
      assert.deepEqual(await warned, [{ message: "Rate limit exceeded", event: "echo" }]);
      assert.equal(await gone, "io server disconnect");
      assert.equal(await watch.reasonOf(id), "rate limited");
    },
  },
  // A burst of two: the bystander's handshake and the attacker's first.
  "handshake rate": {
    env: own({ HANDSHAKE_RATE: "2/60000" }),
    attack: ({ url }) => thirdHandshake(url, 429, error(8, "Too many handshakes")),
  },
  "garbage bytes on a WebSocket": {
    attack: async ({ url, cleanup }) => {
      const ws = await handmadeWebSocket(url);
      cleanup(() => ws.destroy());
      ws.write(Buffer.from("GARBAGE, NOT A WEBSOCKET FRAME\r\n"));
      assert.equal(await ws.closeCode(), 1002);
    },
  },
  "a frame that is not Engine.IO": sent("x", 1002, "transport error"),
  "an invalid Socket.IO packet": sent('42["echo"', 1000, "parse error"),
  "an oversize frame header": {
    attack: async ({ url, cleanup }) => {
      const ws = await handmadeWebSocket(url);
      cleanup(() => ws.destroy());
      // A binary frame declaring 2^62 bytes, masked; its body never comes.
      const header = Buffer.from([0x82, 0xff, 0x40, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
      ws.write(header);
      assert.equal(await ws.closeCode(), 1009);
    },
  },
  "a half-open client": {
    attack: async ({ url, watch, cleanup }) => {
      const silent = await silentSocket(url);
      cleanup(() => silent.ws.terminate());
      // Ping interval + timeout (3 s), with room for a busy machine.
      assert.equal(await watch.reasonOf(silent.id, { timeout: 10_000 }), "ping timeout");
      assert.equal(await silent.closed, 1000);
    },
  },
  "a second concurrent polling GET": {
    attack: async ({ url }) => {
      const sid = await pollingSession(url);
      const query = `transport=polling&sid=${sid}`;
      const first = request(url, query);
      await new Promise((resolve) => setTimeout(resolve, 100));
      const second = request(url, query);
      const answers = await Promise.all([first, second]);
      // Whichever came second is refused, and the session closes: the other gets the
      // close packet.
      const refused = answers.filter((answer) => answer.status === 400);
      assert.deepEqual(refused, [{ status: 400, body: error(3, "Bad request") }]);
      const other = answers.find((answer) => answer.status !== 400);
      assert.deepEqual(other, { status: 200, body: "1" });
    },
  },
};

describe("every limit and attack leaves other clients alone", () => {
  const servers = new Map();
  const clients = new Clients();
  let cleanups = [];

  /** The server for `env`, started on first use and shared by the rows with the same. */
  function serverFor(env) {
    const key = JSON.stringify(env);
    if (!servers.has(key)) {
      servers.set(key, startServer("socketio-testbed", { RUST_LOG: process.env.RUST_LOG ?? "error", ...env }));
    }
    return servers.get(key);
  }

  afterEach(() => {
    clients.closeAll();
    for (const cleanup of cleanups) cleanup();
    cleanups = [];
  });
  after(async () => {
    for (const server of servers.values()) await (await server).stop();
  });

  for (const [name, { env = SHARED, attack }] of Object.entries(ROWS)) {
    it(name, async () => {
      const { url } = await serverFor(env);
      const bystander = await clients.connect(url, "/", { transports: ["websocket"] });
      const watch = new Watcher(bystander);
      assert.deepEqual(await ack(bystander, "watch"), ["ok"]);

      await attack({ url, clients, watch, cleanup: (fn) => cleanups.push(fn) });

      assert.ok(bystander.connected, "the bystander is still connected");
      assert.deepEqual(await ack(bystander, "echo", "still here"), ["still here"]);
    });
  }
});
