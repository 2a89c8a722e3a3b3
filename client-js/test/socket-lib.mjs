// Helpers of the Socket.IO layer's tests: the client modules, a fake engine for the tests that
// drive a Manager without a network, and promises over the client's events.
import { EventEmitter } from "node:events";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { EventSource } from "eventsource";
import WebSocket from "ws";
import { load } from "./lib/bundle.mjs";

/** `{ io, Manager, Socket, parser }`: the client, from `src/index.ts`. */
export const client = await load("src/index.ts");
/** `{ parser, Encoder, Decoder, encode, decode }`: `src/msgpack.ts`. */
export const msgpack = await load("src/msgpack.ts");

/** What Node needs to connect: its WebSocket and EventSource implementations. */
export const NODE = { WebSocket, EventSource };

/** The transports each integration test runs over. */
export const MODES = {
  websocket: { transports: ["websocket"] },
  polling: { transports: ["polling"] },
  "polling then websocket": { transports: ["polling", "websocket"] },
};

const e2e = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../e2e/node_modules");
const require = createRequire(path.join(e2e, "x.js"));
/** The npm package socket.io-msgpack-parser (from the e2e tests' modules), for comparisons. */
export const officialMsgpack = require("socket.io-msgpack-parser");

/** How long a test waits for an event (ms). */
const TIMEOUT = 5_000;

/** Resolves with the arguments of the next `event` of `emitter`; rejects after `timeout` ms. */
export function once(emitter, event, timeout = TIMEOUT) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`no "${event}" within ${timeout} ms`));
    }, timeout);
    const listener = (...args) => {
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args);
    };
    emitter.on(event, listener);
  });
}

/** Resolves once `socket` is connected (rejects on `connect_error`). */
export function connected(socket, timeout = TIMEOUT) {
  if (socket.connected) return Promise.resolve(socket);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`not connected within ${timeout} ms`)), timeout);
    const done = (err) => {
      clearTimeout(timer);
      socket.off("connect", onConnect);
      socket.off("connect_error", done);
      if (err) reject(err);
      else resolve(socket);
    };
    const onConnect = () => done();
    socket.on("connect", onConnect);
    socket.on("connect_error", done);
  });
}

/** Collects the arguments of every `event` of `emitter` until `count` have come. */
export function collect(emitter, event, count, timeout = TIMEOUT) {
  const got = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`${got.length} of ${count} "${event}" within ${timeout} ms`));
    }, timeout);
    const listener = (...args) => {
      got.push(args);
      if (got.length === count) {
        clearTimeout(timer);
        emitter.off(event, listener);
        resolve(got);
      }
    };
    emitter.on(event, listener);
  });
}

/**
 * A stand-in for the engine socket: the test opens it, feeds it messages and closes it;
 * `sent` holds what the Socket.IO layer sent.
 */
export class FakeEngine extends EventEmitter {
  readyState = "opening";
  sent = [];
  constructor(url, options) {
    super();
    this.url = url;
    this.options = options;
  }
  send(data) {
    this.sent.push(data);
  }
  close() {
    this.#end("forced close");
  }
  /** The server accepted the session. */
  open() {
    this.readyState = "open";
    this.emit("open");
  }
  /** Messages from the server. */
  receive(...messages) {
    for (const message of messages) this.emit("message", message);
  }
  /** The session ended by itself (`reason` and `description` as the engine's). */
  drop(reason = "transport close", description) {
    this.#end(reason, description);
  }
  #end(reason, description) {
    if (this.readyState === "closed") return;
    this.readyState = "closed";
    this.emit("close", reason, description);
  }
  /** Takes what was sent so far. */
  take() {
    return this.sent.splice(0);
  }
}

/** A Manager whose engines are FakeEngines (`engines` lists them, newest last). */
export class FakeManager extends client.Manager {
  // No field initializer: the Manager's constructor opens the first engine before it would run.
  createEngine(url, options) {
    const engine = new FakeEngine(url, options);
    (this.engines ??= []).push(engine);
    return engine;
  }
  /** The newest engine. */
  get last() {
    return this.engines[this.engines.length - 1];
  }
}

/**
 * Opens client sockets for one test file and closes them all afterwards (`closeAll`, for an
 * `afterEach` hook). Each `open` gets its own connection unless `multiplex` is asked for.
 */
export function clients() {
  const managers = new Set();
  return {
    /** `io(url, opts)`, with Node's WebSocket and EventSource. */
    open(url, opts = {}) {
      const socket = client.io(url, { forceNew: !opts.multiplex, ...NODE, ...opts });
      managers.add(socket.io);
      return socket;
    },
    /** `open`, resolving once connected. */
    connect(url, opts) {
      return connected(this.open(url, opts));
    },
    closeAll() {
      for (const manager of managers) manager.disconnect();
      managers.clear();
    },
  };
}

/** Resolves with `check()`'s first truthy result, asking every 20 ms for up to `timeout` ms. */
export async function eventually(check, timeout = TIMEOUT) {
  const until = Date.now() + timeout;
  for (;;) {
    const result = await check();
    if (result) return result;
    if (Date.now() > until) throw new Error(`not so within ${timeout} ms: ${check}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
