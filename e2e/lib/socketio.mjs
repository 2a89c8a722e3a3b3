// Helpers for driving the official socket.io-client against `socketio-testbed`.
import { after, afterEach, before } from "node:test";
import assert from "node:assert/strict";
import { Manager, io } from "socket.io-client";
import { Socket as EngineSocket } from "engine.io-client";
import msgpackParser from "socket.io-msgpack-parser";
import { startServer } from "./server.mjs";

/** The three ways a client can use the server. */
export const MODES = {
  "websocket only": ["websocket"],
  "polling only": ["polling"],
  "polling then upgrade": ["polling", "websocket"],
};

/** The two parsers: the testbed's environment and the client's options for each. */
export const PARSERS = {
  json: { env: {}, options: {} },
  msgpack: { env: { PARSER: "msgpack" }, options: { parser: msgpackParser } },
};

/**
 * Testbed timings for tests that are not about the heartbeat: pings come every 300 ms and
 * must be answered, but a pong slowed by a busy machine does not end the session.
 */
export const RELAXED_HEARTBEAT = { PING_INTERVAL: "300", PING_TIMEOUT: "3000" };

/** How long any single awaited event may take before the test fails (ms). */
export const EVENT_TIMEOUT = 5_000;

/** How long to watch for something that must not happen (ms). */
export const QUIET_PERIOD = 200;

/** Events that end a wait early, unless they are what is awaited. */
const FAILURES = ["connect_error", "disconnect", "close", "error"];

/**
 * Resolves with the arguments of the next `event` on `emitter` (a socket.io-client Socket,
 * a Manager, an engine.io-client Socket). Rejects if one of `connect_error`, `disconnect`,
 * `close` or `error` comes first (unless it is the awaited event) and after `timeout` ms.
 */
export function nextEvent(emitter, event, { timeout = EVENT_TIMEOUT } = {}) {
  return new Promise((resolve, reject) => {
    const failures = FAILURES.filter((name) => name !== event).map((name) => [
      name,
      (...args) => {
        cleanup();
        const detail = args.map((a) => (a instanceof Error ? a.message : JSON.stringify(a)));
        reject(new Error(`"${name}" (${detail.join(", ")}) while waiting for "${event}"`));
      },
    ]);
    const onEvent = (...args) => {
      cleanup();
      resolve(args);
    };
    const cleanup = () => {
      clearTimeout(timer);
      emitter.off(event, onEvent);
      for (const [name, listener] of failures) emitter.off(name, listener);
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no "${event}" within ${timeout} ms`));
    }, timeout);
    emitter.on(event, onEvent);
    for (const [name, listener] of failures) emitter.on(name, listener);
  });
}

/** Resolves after `QUIET_PERIOD` ms if `event` did not come on `emitter`; rejects if it did. */
export function noEvent(emitter, event, { period = QUIET_PERIOD } = {}) {
  return new Promise((resolve, reject) => {
    const onEvent = (...args) => {
      clearTimeout(timer);
      reject(new Error(`unexpected "${event}": ${JSON.stringify(args)}`));
    };
    const timer = setTimeout(() => {
      emitter.off(event, onEvent);
      resolve();
    }, period);
    emitter.on(event, onEvent);
  });
}

/**
 * Emits `event` with `args` and resolves with every argument of the ack (socket.io-client's
 * `emitWithAck` keeps only the first). Rejects when no ack comes within `timeout` ms.
 */
export function ack(socket, event, ...args) {
  return ackWithin(EVENT_TIMEOUT, socket, event, ...args);
}

/** Like `ack`, with a timeout of its own. */
export function ackWithin(timeout, socket, event, ...args) {
  return new Promise((resolve, reject) => {
    socket.timeout(timeout).emit(event, ...args, (error, ...response) => {
      if (error) reject(new Error(`no ack to "${event}" within ${timeout} ms: ${error.message}`));
      else resolve(response);
    });
  });
}

/**
 * Records every event named `event` on `socket` as it comes, so a test can wait for the
 * n-th one, or check what came, without missing any that arrived before it looked. When the
 * event asks for an ack, `reply(args)` says with what (an array of arguments), or not at all
 * (`null`, the default).
 */
export class Inbox {
  constructor(socket, event, { reply = () => null } = {}) {
    this.event = event;
    this.received = [];
    this.waiters = [];
    socket.on(event, (...args) => {
      const ack = typeof args.at(-1) === "function" ? args.pop() : null;
      this.received.push(args);
      const answer = reply(args);
      if (ack && answer) ack(...answer);
      this.waiters = this.waiters.filter((waiter) => !waiter());
    });
  }

  /** Resolves with the first `count` events (their arguments), in arrival order. */
  first(count, { timeout = EVENT_TIMEOUT } = {}) {
    if (this.received.length >= count) return Promise.resolve(this.received.slice(0, count));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.received.length}/${count} "${this.event}" within ${timeout} ms`)),
        timeout,
      );
      this.waiters.push(() => {
        if (this.received.length < count) return false;
        clearTimeout(timer);
        resolve(this.received.slice(0, count));
        return true;
      });
    });
  }
}

/**
 * The disconnections the testbed reports to a watcher socket: `reasonOf(id)` resolves with
 * the reason the server gave for socket `id` (of any namespace), once it comes.
 */
export class Watcher {
  constructor(socket) {
    this.socket = socket;
    this.records = new Map();
    this.waiters = new Map();
    socket.on("disconnected", (record) => {
      this.records.set(record.id, record);
      this.waiters.get(record.id)?.(record);
    });
  }

  /** Resolves with `{ id, nsp, reason }` for socket `id`. */
  recordOf(id, { timeout = EVENT_TIMEOUT } = {}) {
    const known = this.records.get(id);
    if (known) return Promise.resolve(known);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        reject(new Error(`the server reported no disconnection of ${id} within ${timeout} ms`));
      }, timeout);
      this.waiters.set(id, (record) => {
        clearTimeout(timer);
        this.waiters.delete(id);
        resolve(record);
      });
    });
  }

  async reasonOf(id, options) {
    return (await this.recordOf(id, options)).reason;
  }
}

/** Resolves once the engine under `socket` runs on WebSocket (at once if it already does). */
export async function upgraded(socket) {
  const engine = socket.io.engine;
  if (engine.transport.name === "websocket") return;
  await nextEvent(engine, "upgrade");
}

/**
 * Opens socket.io-client sockets and managers to one server, and closes whatever is still
 * open on `closeAll()`. Every socket gets a Manager of its own unless one is given, and does
 * not reconnect by itself.
 */
export class Clients {
  constructor(defaults = {}) {
    this.defaults = defaults;
    this.sockets = new Set();
    this.managers = new Set();
    this.engines = new Set();
  }

  /** A new socket to namespace `nsp` of `url`; it starts connecting at once. */
  socket(url, nsp = "/", options = {}) {
    const socket = io(`${url}${nsp}`, {
      forceNew: true,
      reconnection: false,
      ...this.defaults,
      ...options,
    });
    this.sockets.add(socket);
    return socket;
  }

  /**
   * Like `socket`, and resolves once it is connected and, when the transports allow it, has
   * moved to WebSocket.
   */
  async connect(url, nsp = "/", options = {}) {
    const socket = this.socket(url, nsp, options);
    await connected(socket);
    return socket;
  }

  /** A Manager of its own, for several namespaces over one connection. */
  manager(url, options = {}) {
    const manager = new Manager(url, { reconnection: false, ...this.defaults, ...options });
    this.managers.add(manager);
    return manager;
  }

  /** A socket of `manager`, resolved once connected (and upgraded when it can be). */
  async connectVia(manager, nsp, options = {}) {
    const socket = manager.socket(nsp, options);
    this.sockets.add(socket);
    await connected(socket);
    return socket;
  }

  /**
   * A bare engine.io-client Socket on the testbed's path, for speaking the Socket.IO
   * protocol by hand; resolves once it is open.
   */
  async engine(url, transports, options = {}) {
    const engine = new EngineSocket(url, { path: "/socket.io/", transports, ...options });
    this.engines.add(engine);
    await nextEvent(engine, "open");
    if (transports.includes("websocket") && transports.length > 1) {
      await nextEvent(engine, "upgrade");
    }
    return engine;
  }

  closeAll() {
    for (const socket of this.sockets) socket.disconnect();
    for (const manager of this.managers) manager.engine?.close();
    for (const engine of this.engines) engine.close();
    this.sockets.clear();
    this.managers.clear();
    this.engines.clear();
  }
}

/**
 * Resolves once `socket` is connected and, if its transports include WebSocket after
 * polling, once it has upgraded.
 */
export async function connected(socket) {
  if (!socket.connected) await nextEvent(socket, "connect");
  const transports = socket.io.opts.transports ?? [];
  if (transports[0] === "polling" && transports.includes("websocket")) await upgraded(socket);
}

/**
 * Speaks Socket.IO by hand over a bare engine.io-client Socket: connects to namespace `/`
 * (with the JSON parser's text packets) and resolves with the socket id the server gave.
 */
export async function rawConnect(engine, packet = "0") {
  const reply = nextEvent(engine, "message");
  engine.send(packet);
  const [message] = await reply;
  assert.match(message, /^0\{"sid":"[^"]+"\}$/, "the server accepts the CONNECT");
  return JSON.parse(message.slice(1)).sid;
}

/**
 * Starts `socketio-testbed` with `env` for the enclosing suite, closes the suite's clients
 * after each test and stops the server after the suite. Returns `{ server, clients }`;
 * `server.url` and `server.pid` are valid once the suite runs. `clientOptions` go to every
 * socket.
 */
export function useSocketTestbed(env = {}, clientOptions = {}) {
  const clients = new Clients(clientOptions);
  let started;
  const server = {
    get url() {
      return started.url;
    },
    get pid() {
      return started.pid;
    },
  };
  before(async () => {
    started = await startServer("socketio-testbed", {
      RUST_LOG: process.env.RUST_LOG ?? "error",
      ...RELAXED_HEARTBEAT,
      ...env,
    });
  });
  afterEach(() => clients.closeAll());
  after(() => started.stop());
  return { server, clients };
}

/** The buffers of `value` as arrays of numbers, so deepEqual compares bytes, not classes. */
export function bytes(value) {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return { bytes: [...value] };
  if (value instanceof ArrayBuffer) return { bytes: [...new Uint8Array(value)] };
  if (Array.isArray(value)) return value.map(bytes);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, bytes(v)]));
  }
  return value;
}
