// The soak's attackers speak HTTP and WebSocket by hand over raw TCP, from a loopback address
// of their own (127.0.k.n), so that they can send what no real client sends and see exactly
// what the server answers: the status line, the Engine.IO error code, the close code.
import { AsyncLocalStorage } from "node:async_hooks";
import net from "node:net";

/** The stats of the attack running (`{ connections }`): `connect` counts the connections it opens. */
export const connections = new AsyncLocalStorage();

/** A random address of the loopback block `127.0.<block>.1-250` (one block per attack kind). */
export function loopback(block) {
  return `127.0.${block}.${1 + Math.floor(Math.random() * 250)}`;
}

/**
 * Opens a TCP connection to `port` on 127.0.0.1 from `localAddress`, and resolves with the
 * socket once connected. Everything it receives is kept in `socket.received` (a Buffer);
 * `socket.ended` resolves when the server closes or resets it.
 */
export function connect(port, localAddress) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress });
    const stats = connections.getStore();
    if (stats) stats.connections += 1;
    socket.received = Buffer.alloc(0);
    socket.ended = new Promise((done) => socket.once("close", done));
    socket.on("data", (chunk) => {
      socket.received = Buffer.concat([socket.received, chunk]);
      socket.emit("received");
    });
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.off("error", reject);
      socket.on("error", () => {});
      resolve(socket);
    });
  });
}

/** Resolves `true` when `promise` settles within `ms`, `false` otherwise. */
export function within(promise, ms) {
  let timer;
  const late = new Promise((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  return Promise.race([promise.then(() => true), late]).finally(() => clearTimeout(timer));
}

/** Resolves once `test(socket)` holds, or the socket closes, or `ms` pass. */
export function until(socket, test, ms) {
  return within(
    new Promise((resolve) => {
      const check = () => {
        if (test(socket) || socket.destroyed) {
          socket.off("received", check);
          resolve();
        }
      };
      socket.on("received", check);
      socket.once("close", check);
      check();
    }),
    ms,
  );
}

/**
 * What an HTTP answer in `bytes` says, as a report label: `HTTP <status>`, with the
 * Engine.IO error code of its body when there is one (`HTTP 400 code 3`).
 */
export function httpOutcome(bytes) {
  const text = bytes.toString("latin1");
  const status = text.match(/^HTTP\/1\.[01] (\d{3})/);
  if (!status) return bytes.length === 0 ? "closed without an answer" : "answer that is not HTTP";
  const code = text.match(/"code":(\d+)/);
  return `HTTP ${status[1]}${code ? ` code ${code[1]}` : ""}`;
}

/**
 * Sends one HTTP request (`head` lines without the final blank line; `body` a string or
 * Buffer) with `Connection: close`, and resolves with `{ outcome, body, ms }` once the server
 * closes the connection, or with outcome `no answer within <ms> ms` after `ms`.
 */
export async function request(port, localAddress, head, body = "", ms = 10_000) {
  const socket = await connect(port, localAddress);
  const started = performance.now();
  const length = Buffer.byteLength(body);
  socket.write(`${head}\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n`);
  socket.write(length > 0 ? `Content-Length: ${length}\r\n\r\n` : "\r\n");
  if (length > 0) socket.write(body);
  const closed = await within(socket.ended, ms);
  socket.destroy();
  const text = socket.received.toString("latin1");
  return {
    outcome: closed ? httpOutcome(socket.received) : `no answer within ${ms} ms`,
    body: text.slice(text.indexOf("\r\n\r\n") + 4),
    ms: performance.now() - started,
  };
}

/**
 * Opens a long-polling session from `localAddress`; resolves with `{ sid, outcome }`, `sid`
 * null when the handshake was refused (`outcome` says how).
 */
export async function pollingSession(port, localAddress) {
  const { body, outcome } = await request(port, localAddress, "GET /socket.io/?EIO=4&transport=polling HTTP/1.1");
  return { sid: body.match(/"sid":"([^"]+)"/)?.[1] ?? null, outcome };
}

/**
 * Upgrades a raw TCP connection to a WebSocket on the Socket.IO endpoint (a new Engine.IO
 * session). Resolves with `{ socket, outcome }`: `socket` is null when the upgrade was
 * refused, and `outcome` is then the HTTP answer.
 */
export async function rawWebSocket(port, localAddress) {
  const socket = await connect(port, localAddress);
  socket.write(
    "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n" +
      `Host: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
  );
  await until(socket, (socket) => socket.received.includes("\r\n\r\n"), 10_000);
  if (!socket.received.toString("latin1").startsWith("HTTP/1.1 101")) {
    await within(socket.ended, 2_000);
    socket.destroy();
    return { socket: null, outcome: httpOutcome(socket.received) };
  }
  return { socket, outcome: "upgraded" };
}

/** A masked client WebSocket frame: `opcode` (1 text, 2 binary) with `payload`. */
export function clientFrame(opcode, payload, declaredLength = payload.length) {
  const header = [0x80 | opcode];
  if (declaredLength < 126) header.push(0x80 | declaredLength);
  else if (declaredLength < 65_536) header.push(0x80 | 126, declaredLength >> 8, declaredLength & 0xff);
  else {
    header.push(0x80 | 127);
    const length = Buffer.alloc(8);
    length.writeBigUInt64BE(BigInt(declaredLength));
    header.push(...length);
  }
  // A zero mask leaves the payload as it is.
  return Buffer.concat([Buffer.from(header), Buffer.alloc(4), Buffer.from(payload)]);
}

/** The whole frames the server sent after the upgrade: `[{ opcode, payload }]`. */
export function serverFrames(socket) {
  const data = socket.received;
  const frames = [];
  let at = data.indexOf("\r\n\r\n") + 4;
  while (at + 2 <= data.length) {
    let length = data[at + 1] & 0x7f;
    let header = 2;
    if (length === 126 && at + 4 <= data.length) {
      length = data.readUInt16BE(at + 2);
      header = 4;
    } else if (length === 127 && at + 10 <= data.length) {
      length = Number(data.readBigUInt64BE(at + 2));
      header = 10;
    } else if (length >= 126) break;
    if (at + header + length > data.length) break;
    frames.push({ opcode: data[at] & 0x0f, payload: data.subarray(at + header, at + header + length) });
    at += header + length;
  }
  return frames;
}

/** The text of the server's text frames so far (Engine.IO packets: `0{...}`, `40{...}`, ...). */
export function textPackets(socket) {
  return serverFrames(socket)
    .filter((frame) => frame.opcode === 1)
    .map((frame) => frame.payload.toString());
}

/**
 * Resolves `true` once one of the server's text packets passes `test`, `false` when the
 * connection closes or `ms` pass first.
 */
export async function untilPacket(socket, test, ms) {
  const found = (socket) => textPackets(socket).some(test);
  await until(socket, found, ms);
  return found(socket);
}

/**
 * How the server ended the WebSocket in `socket`: the code of its close frame
 * (`ws close 1009`), or how the connection ended without one.
 */
export function closeOutcome(socket) {
  const close = serverFrames(socket).find((frame) => frame.opcode === 8);
  if (close) {
    return close.payload.length >= 2 ? `ws close ${close.payload.readUInt16BE(0)}` : "ws close (no code)";
  }
  return socket.destroyed ? "connection closed without a close frame" : "still open";
}

/** Sends Engine.IO text packet `text` (or a Buffer as a binary message) on a raw WebSocket. */
export function send(socket, text) {
  if (!socket.destroyed) socket.write(clientFrame(typeof text === "string" ? 1 : 2, text));
}

/**
 * A raw WebSocket with its Engine.IO session open, and, with `namespace`, a Socket.IO
 * CONNECT to it sent. Resolves with `{ socket, outcome }`: `socket` null and `outcome` what
 * went wrong (the HTTP refusal, or a missing packet) when it failed.
 */
export async function engineSession(port, localAddress, namespace = null) {
  const { socket, outcome } = await rawWebSocket(port, localAddress);
  if (!socket) return { socket, outcome };
  if (!(await untilPacket(socket, (packet) => packet.startsWith("0{"), 10_000))) {
    const outcome = `no Engine.IO open packet (${closeOutcome(socket)})`;
    socket.destroy();
    return { socket: null, outcome };
  }
  if (namespace === null) return { socket, outcome };
  send(socket, namespace === "/" ? "40" : `40${namespace},`);
  const named = namespace === "/" ? "" : `${namespace},`;
  const answered = (packet) => packet.startsWith(`40${named}`) || packet.startsWith(`44${named}`);
  if (!(await untilPacket(socket, answered, 10_000))) {
    const outcome = `no CONNECT answer (${closeOutcome(socket)})`;
    socket.destroy();
    return { socket: null, outcome };
  }
  return { socket, outcome };
}
