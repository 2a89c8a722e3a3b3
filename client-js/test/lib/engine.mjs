// The engine layer for the tests, with Node's missing pieces plugged in.
import { EventSource } from "eventsource";
import WebSocket from "ws";
import { loadEngine } from "./bundle.mjs";
import { next } from "./wait.mjs";

export const { EngineSocket, forgetTransports } = await loadEngine();

/** What Node 20 lacks and the client takes as options. */
export const IMPLEMENTATIONS = { WebSocket, EventSource };

const sockets = new Set();

/** A new EngineSocket to `url` with `options` (and the implementations), closed by `closeSockets()`. */
export function socket(url, options = {}) {
  const engine = new EngineSocket(url, { ...IMPLEMENTATIONS, ...options });
  sockets.add(engine);
  return engine;
}

/** A new EngineSocket, once open. */
export async function connect(url, options = {}) {
  const engine = socket(url, options);
  await next(engine, "open");
  return engine;
}

/** Closes every socket made by `socket()` or `connect()` (for an `afterEach` hook). */
export function closeSockets() {
  sockets.forEach((engine) => engine.close());
  sockets.clear();
}

/** Sends `data` and resolves with the next message (an echo, or the answer to a command). */
export async function roundTrip(engine, data) {
  const answer = next(engine, "message");
  engine.send(data);
  const [message] = await answer;
  return message;
}
