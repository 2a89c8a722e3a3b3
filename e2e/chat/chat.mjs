// Driving the chat server (`examples/chat`, binary `chat`) with the official socket.io-client,
// as a third party beside the browser pages or on its own.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { Inbox, ack, nextEvent } from "../lib/socketio.mjs";

/**
 * Logs in to the chat at `url` as `nickname` with `clients` (a lib/socketio.mjs `Clients`) and
 * resolves with the socket once the server welcomed it, with an Inbox for each server event.
 */
export async function login(clients, url, nickname, options = {}) {
  const socket = clients.socket(url, "/", { auth: { nickname }, ...options });
  const inboxes = {};
  for (const event of ["message", "presence", "typing", "delivered"]) inboxes[event] = new Inbox(socket, event);
  const [welcome] = await nextEvent(socket, "welcome");
  assert.equal(welcome.nickname, nickname.trim());
  return Object.assign(socket, { inboxes, welcome });
}

/** Asks `event` with `args` and resolves with the server's reply (`{ ok }` or `{ error }`). */
export async function ask(socket, event, ...args) {
  const [reply] = await ack(socket, event, ...args);
  return reply;
}

/** Asks, and resolves with the `ok` of the reply (failing on an error). */
export async function ok(socket, event, ...args) {
  const reply = await ask(socket, event, ...args);
  assert.ok("ok" in reply, `${event} failed: ${JSON.stringify(reply)}`);
  return reply.ok;
}

/** Sends `text` to `room` as a new message; resolves with `{ id, at }` once it is sent. */
export function say(socket, room, text, id = randomUUID()) {
  return ok(socket, "message", { id, room, text });
}
