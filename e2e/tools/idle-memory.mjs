// Measures a server's resident memory per idle WebSocket connection.
//
//   node e2e/tools/idle-memory.mjs [connections] [binary] [engineio|socketio]
//
// Starts `binary` (default engineio-testbed, built in target/release if present) on a free
// port with the default 25 s ping interval, reads its RSS from /proc, opens the connections
// over raw WebSockets (each waits for its open packet, and with `socketio` also joins the
// main namespace and waits for the CONNECT reply), lets the server settle, reads RSS again
// and prints (after - before) / connections. Run with `ulimit -n` above 2 × connections.
//
// The clients offer permessage-deflate (`ws`'s default), so with `PER_MESSAGE_DEFLATE=1024` in
// the environment (passed on to the server) the connections are compressed; with
// `MESSAGE_BYTES=N` each connection first sends a message of N bytes of JSON and waits for
// its echo (the engine.io test bed echoes), so compression has run on it before it idles.
import { readFileSync } from "node:fs";
import WebSocket from "ws";
import { startServer } from "../lib/server.mjs";

const count = Number(process.argv[2] ?? 5000);
const name = process.argv[3] ?? "engineio-testbed";
const socketio = process.argv[4] === "socketio";
process.env.TIDINGS_PROFILE ??= "release";
const messageBytes = Number(process.env.MESSAGE_BYTES ?? 0);
const message = `4${JSON.stringify(Array.from({ length: messageBytes }, (_, i) => i % 97)).slice(0, Math.max(0, messageBytes - 1))}`;

const rss = (pid) => {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(status.match(/VmRSS:\s+(\d+) kB/)[1]) * 1024;
};
const settle = () => new Promise((resolve) => setTimeout(resolve, 1000));

const server = await startServer(name, { PING_INTERVAL: "25000", PING_TIMEOUT: "20000" });
const path = socketio ? "socket.io" : "engine.io";
const url = `ws://127.0.0.1:${server.port}/${path}/?EIO=4&transport=websocket`;

// Warm up the allocator and the runtime's worker threads with a first batch, closed again.
const open = (n) =>
  Promise.all(
    Array.from({ length: n }, () =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(url);
        ws.on("error", reject);
        let echoed = false;
        ws.on("message", (data) => {
          const text = data.toString();
          if (text === "2") ws.send("3");
          else if (!socketio && messageBytes && !echoed && text.startsWith("0")) ws.send(message);
          else if (!socketio && messageBytes && !echoed) {
            echoed = true;
            if (text !== message) reject(new Error("the echo differs"));
            resolve(ws);
          } else if (!socketio) resolve(ws);
          else if (text.startsWith("0")) ws.send("40");
          else if (text.startsWith("40")) resolve(ws);
        });
      }),
    ),
  );
for (const ws of await open(200)) ws.close();
await settle();

const before = rss(server.pid);
const sockets = [];
for (let opened = 0; opened < count; opened += 500) {
  sockets.push(...(await open(Math.min(500, count - opened))));
}
await settle();
const after = rss(server.pid);
const perSession = (after - before) / count;
console.log(
  JSON.stringify({ server: name, sessions: count, rssBeforeKiB: before >> 10, rssAfterKiB: after >> 10, bytesPerSession: Math.round(perSession) }),
);
for (const ws of sockets) ws.terminate();
await server.stop();
