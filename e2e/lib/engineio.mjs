// Helpers for driving the official engine.io-client against the testbed.
import { after, afterEach, before } from "node:test";
import { Socket } from "engine.io-client";
import { startServer } from "./server.mjs";

/** The three ways a client can use the server. */
export const MODES = {
  "websocket only": ["websocket"],
  "polling only": ["polling"],
  "polling then upgrade": ["polling", "websocket"],
};

/**
 * Testbed timings for tests that are not about the heartbeat: pings still come every 300 ms
 * and must be answered, but a pong slowed by a busy machine (behind thousands of messages,
 * say) does not end the session. The heartbeat tests use the tight 300/200 defaults.
 */
export const RELAXED_HEARTBEAT = { PING_INTERVAL: "300", PING_TIMEOUT: "3000" };

/** How long any single awaited event may take before the test fails (ms). */
export const EVENT_TIMEOUT = 5_000;

/**
 * Resolves with the arguments of the next `event` on `emitter` (an engine.io-client Socket,
 * or any emitter with `on`/`off`). Rejects on `error`, on `close` (unless `close` is awaited)
 * and after `timeout` ms.
 */
export function nextEvent(emitter, event, { timeout = EVENT_TIMEOUT } = {}) {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      emitter.off(event, onEvent);
      emitter.off("error", onError);
      if (event !== "close") emitter.off("close", onClose);
    };
    const onEvent = (...args) => {
      cleanup();
      resolve(args);
    };
    const onError = (error) => {
      cleanup();
      reject(error instanceof Error ? error : new Error(`error event: ${error}`));
    };
    const onClose = (reason, description) => {
      cleanup();
      reject(new Error(`closed while waiting for "${event}": ${reason} ${description ?? ""}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`no "${event}" within ${timeout} ms`));
    }, timeout);
    emitter.on(event, onEvent);
    emitter.on("error", onError);
    if (event !== "close") emitter.on("close", onClose);
  });
}

/**
 * Resolves with the next `count` messages of `socket`, in arrival order. Rejects if the
 * socket closes or errors first, or if they take longer than `timeout` ms.
 */
export function nextMessages(socket, count, { timeout = EVENT_TIMEOUT } = {}) {
  return new Promise((resolve, reject) => {
    const received = [];
    const cleanup = () => {
      clearTimeout(timer);
      socket.off("message", onMessage);
      socket.off("close", onClose);
      socket.off("error", onError);
    };
    const onMessage = (data) => {
      received.push(data);
      if (received.length === count) {
        cleanup();
        resolve(received);
      }
    };
    const onClose = (reason) => {
      cleanup();
      reject(new Error(`closed after ${received.length}/${count} messages: ${reason}`));
    };
    const onError = (error) => {
      cleanup();
      reject(error instanceof Error ? error : new Error(`error event: ${error}`));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`only ${received.length}/${count} messages within ${timeout} ms`));
    }, timeout);
    socket.on("message", onMessage);
    socket.on("close", onClose);
    socket.on("error", onError);
  });
}

/**
 * Opens engine.io-client sockets to one server and closes whatever is still open on
 * `closeAll()` (call it in `afterEach`/`after` so node can exit).
 */
export class Clients {
  constructor() {
    this.sockets = new Set();
  }

  /** A new Socket to `url` over `transports`; it starts connecting at once. */
  socket(url, transports, options = {}) {
    const socket = new Socket(url, { transports, path: "/engine.io/", ...options });
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    return socket;
  }

  /** Like `socket`, and resolves once it is open. */
  async open(url, transports, options = {}) {
    const socket = this.socket(url, transports, options);
    await nextEvent(socket, "open");
    return socket;
  }

  closeAll() {
    for (const socket of this.sockets) socket.close();
    this.sockets.clear();
  }
}

/** Resolves once `socket` has moved to WebSocket (at once if it already has). */
export async function upgraded(socket) {
  if (socket.transport.name === "websocket") return;
  await nextEvent(socket, "upgrade");
}

/** `0` to `count - 1` as strings. */
export function numbers(count) {
  return Array.from({ length: count }, (_, i) => String(i));
}

/**
 * The first place where `received` differs from `expected`, as a short message, or null when
 * they are equal (so a failure on 10,000 items prints a line, not two arrays).
 */
export function firstDifference(received, expected) {
  const length = Math.max(received.length, expected.length);
  for (let i = 0; i < length; i++) {
    if (received[i] !== expected[i]) {
      const [got, want] = [JSON.stringify(received[i]), JSON.stringify(expected[i])];
      return `at ${i}: got ${got}, expected ${want} (${received.length} items, expected ${expected.length})`;
    }
  }
  return null;
}

/** The raw HTTP answer to a polling GET for `sid`: `{ status, body }`. */
export async function pollRaw(url, sid) {
  const response = await fetch(`${url}/engine.io/?EIO=4&transport=polling&sid=${sid}`);
  return { status: response.status, body: await response.text() };
}

/**
 * Starts `engineio-testbed` with `env` for the enclosing suite, closes the suite's clients
 * after each test and stops the server after the suite. Returns `{ server, clients }`;
 * `server.url` is valid once the suite runs.
 */
export function useTestbed(env) {
  const clients = new Clients();
  let started;
  const server = {
    get url() {
      return started.url;
    },
  };
  before(async () => {
    started = await startServer("engineio-testbed", env);
  });
  afterEach(() => clients.closeAll());
  after(() => started.stop());
  return { server, clients };
}
