// The soak's garbage attackers: bytes that are not HTTP, HTTP the server cannot serve, and
// Engine.IO and Socket.IO packets that are not valid. Each round sends one of a kind's
// variants and records what the server answered; `ctx` is the chaos worker's (chaos.mjs).
import { randomBytes } from "node:crypto";
import {
  closeOutcome,
  connect,
  engineSession,
  httpOutcome,
  loopback,
  pollingSession,
  request,
  send,
  untilPacket,
  within,
} from "./raw.mjs";

/** One of `list`, at random. */
export function pick(list) {
  return list[Math.floor(Math.random() * list.length)];
}

/**
 * Random bytes on a fresh connection: the server answers 400 at once, or, when the bytes
 * could still start a request, closes once the head has taken 30 s.
 */
export async function garbageBytes(ctx) {
  const socket = await connect(ctx.port, loopback(ctx.block));
  const started = performance.now();
  socket.write(randomBytes(1 + Math.floor(Math.random() * 4096)));
  const closed = await within(socket.ended, 40_000);
  socket.destroy();
  ctx.timed(performance.now() - started);
  if (!closed) ctx.unexpected("random bytes: the connection stayed open 40 s");
  ctx.record(closed ? httpOutcome(socket.received) : "still open after 40 s");
}

/** Request heads the server must refuse, by name. */
const BAD_REQUESTS = {
  "bad request line": "GARBAGE\x01 /socket.io/ HTTP/1.1",
  "bad version": "GET /socket.io/?EIO=4&transport=polling HTTP/7.3",
  "bad header": "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nBad Header Name: x",
  "1 MB header": `GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nX-Big: ${"a".repeat(1_000_000)}`,
  "EIO=3": "GET /socket.io/?EIO=3&transport=polling HTTP/1.1",
  "no EIO": "GET /socket.io/?transport=polling HTTP/1.1",
  "unknown transport": "GET /socket.io/?EIO=4&transport=carrier-pigeon HTTP/1.1",
  "bad method": "PUT /socket.io/?EIO=4&transport=polling HTTP/1.1",
  "unknown sid (GET)": "GET /socket.io/?EIO=4&transport=polling&sid=AAAAAAAAAAAAAAAAAAAA HTTP/1.1",
  "unknown sid (websocket)":
    "GET /socket.io/?EIO=4&transport=websocket&sid=AAAAAAAAAAAAAAAAAAAA HTTP/1.1",
  "other path": "GET /not-socket.io/ HTTP/1.1",
};

/** An HTTP request the server must refuse with a status (and an Engine.IO code). */
export async function garbageHttp(ctx) {
  const name = pick(Object.keys(BAD_REQUESTS));
  const { outcome } = await request(ctx.port, loopback(ctx.block), BAD_REQUESTS[name]);
  if (outcome.startsWith("no answer") || outcome.startsWith("HTTP 2") || outcome.startsWith("HTTP 5")) {
    ctx.unexpected(`${name}: ${outcome}`);
  }
  ctx.record(`${name}: ${outcome}`);
}

/** Engine.IO payloads that are not valid, for a long-polling POST or a WebSocket message. */
const BAD_ENGINE_PACKETS = {
  "unknown packet type": "9hello",
  "empty packet": "",
  "random bytes": () => randomBytes(64),
  "upgrade packet out of place": "5",
  "close then more": "1\x1e4x",
};

/**
 * A session (long-polling or WebSocket, at random) sent an invalid Engine.IO packet: the
 * server closes it (400 code 3, or a close frame).
 */
export async function garbageEngine(ctx) {
  const name = pick(Object.keys(BAD_ENGINE_PACKETS));
  const value = BAD_ENGINE_PACKETS[name];
  const payload = typeof value === "function" ? value() : value;
  const address = loopback(ctx.block);
  if (Math.random() < 0.5) {
    const { sid, outcome: opened } = await pollingSession(ctx.port, address);
    if (!sid) return ctx.record(`polling handshake refused: ${opened}`);
    const path = `/socket.io/?EIO=4&transport=polling&sid=${sid}`;
    const { outcome } = await request(ctx.port, address, `POST ${path} HTTP/1.1`, payload);
    return ctx.record(`polling, ${name}: ${outcome}`);
  }
  const { socket, outcome } = await engineSession(ctx.port, address);
  if (!socket) return ctx.record(`websocket refused: ${outcome}`);
  send(socket, payload);
  const closed = await within(socket.ended, 5_000);
  const answer = closed ? closeOutcome(socket) : "ignored, still open after 5 s";
  socket.destroy();
  ctx.record(`websocket, ${name}: ${answer}`);
}

/** Socket.IO packets (after a CONNECT to `/`) the server must refuse, by name. */
const BAD_SOCKET_PACKETS = {
  "bad JSON": '42["echo",{',
  "unknown packet type": '49["echo"]',
  "non-string event": "42[1,2]",
  "reserved event": '42["connect"]',
  "ack id over 2^53": '429007199254740993["echo"]',
  "placeholder past the attachments": ['451-["echo",{"_placeholder":true,"num":3}]', Buffer.from([1, 2, 3])],
  "too many attachments": `4599-["echo"${',{"_placeholder":true,"num":0}'.repeat(99)}]`,
  "not an array": '42{"event":"echo"}',
};

/**
 * A Socket.IO session sent an invalid packet, or a CONNECT the server refuses (unknown
 * namespace, middleware saying no): the server closes it, or answers CONNECT_ERROR.
 */
export async function garbageSocket(ctx) {
  const address = loopback(ctx.block);
  if (Math.random() < 0.2) {
    const namespace = pick(["/nope", "/private", "/dyn-13"]);
    const { socket, outcome } = await engineSession(ctx.port, address, namespace);
    if (!socket) return ctx.record(`CONNECT ${namespace}: ${outcome}`);
    const refusal = socket.received.toString().match(/44[^,]*,\{"message":"([^"]*)"/);
    socket.destroy();
    return ctx.record(`CONNECT ${namespace}: ${refusal ? `CONNECT_ERROR "${refusal[1]}"` : "accepted"}`);
  }
  const name = pick(Object.keys(BAD_SOCKET_PACKETS));
  const { socket, outcome } = await engineSession(ctx.port, address, "/");
  if (!socket) return ctx.record(`session refused: ${outcome}`);
  for (const packet of [BAD_SOCKET_PACKETS[name]].flat()) send(socket, packet);
  const closed = await within(socket.ended, 5_000);
  const answer = closed ? closeOutcome(socket) : "still open after 5 s";
  const seen = await untilPacket(socket, (packet) => packet.startsWith("41"), 0);
  socket.destroy();
  ctx.record(`${name}: ${answer}${seen ? " after DISCONNECT" : ""}`);
}
