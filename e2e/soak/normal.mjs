// The soak's normal clients, as a worker thread: official socket.io-client sockets over
// WebSocket, long-polling, and long-polling upgraded to WebSocket, that join a room, emit
// `echo` with an ack at a steady rate and receive their room's broadcasts. Every round trip's
// latency is posted to the main thread (`{ type: "latency", samples: [[at, ms], ...] }`, `at`
// in ms since `workerData.epoch`), and anything a normal client should never see (a
// disconnection, an ack missing or wrong, a refused connection) as `{ type: "unexpected" }`.
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parentPort, workerData } from "node:worker_threads";
import { io } from "socket.io-client";

const { url, clients, connectEveryMs, echoEveryMs, broadcastEveryMs, rooms, epoch } = workerData;
const TRANSPORTS = [["websocket"], ["polling"], ["polling", "websocket"]];
const ACK_TIMEOUT_MS = 10_000;

const stats = { connected: 0, echoes: 0, acked: 0, broadcasts: 0, received: 0, byTransport: {} };
let samples = [];
let broadcastSamples = [];
let stopping = false;
const sockets = [];
const timers = [];
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

const unexpected = (what) => {
  if (!stopping) parentPort.postMessage({ type: "unexpected", what });
};

/** Starts client `i`: resolves once it is connected and in its room. */
function start(i) {
  const transports = TRANSPORTS[i % TRANSPORTS.length];
  const kind = transports.join("+");
  stats.byTransport[kind] = (stats.byTransport[kind] ?? 0) + 1;
  const room = `room-${i % rooms}`;
  const socket = io(url, { transports, forceNew: true, reconnection: false, timeout: 20_000 });
  sockets.push(socket);
  socket.on("disconnect", (reason) => unexpected(`a normal client (${kind}) was disconnected: ${reason}`));
  socket.on("news", (_target, data) => {
    stats.received += 1;
    broadcastSamples.push([Date.now() - epoch, Date.now() - data.sentAt]);
  });
  return new Promise((resolve) => {
    socket.once("connect_error", (error) => {
      unexpected(`a normal client (${kind}) could not connect: ${error.message}`);
      resolve();
    });
    socket.once("connect", async () => {
      stats.connected += 1;
      await socket.timeout(ACK_TIMEOUT_MS).emitWithAck("join", room).catch(() => {
        unexpected(`a normal client (${kind}) got no ack for join`);
      });
      const echo = () => sendEcho(socket, kind);
      timers.push(setTimeout(() => timers.push(setInterval(echo, echoEveryMs)), Math.random() * echoEveryMs));
      if (i < rooms) {
        const target = { to: [room], event: "news", includeSelf: true };
        const broadcast = () => {
          stats.broadcasts += 1;
          socket.emit("to-room", target, { sentAt: Date.now() }, () => {});
        };
        timers.push(setInterval(broadcast, broadcastEveryMs));
      }
      resolve();
    });
  });
}

let seq = 0;
/** Emits `echo` with an ack and records its round trip. */
function sendEcho(socket, kind) {
  const sent = { seq: seq++, pad: "x".repeat(64) };
  const started = performance.now();
  stats.echoes += 1;
  socket.timeout(ACK_TIMEOUT_MS).emit("echo", sent, (error, back) => {
    if (error) return unexpected(`a normal client (${kind}) got no echo ack within ${ACK_TIMEOUT_MS} ms`);
    if (back?.seq !== sent.seq) return unexpected(`a normal client (${kind}) got a wrong echo ack`);
    stats.acked += 1;
    samples.push([Date.now() - epoch, performance.now() - started]);
  });
}

const flush = () => {
  parentPort.postMessage({ type: "latency", samples, broadcastSamples });
  samples = [];
  broadcastSamples = [];
};
const flushTimer = setInterval(flush, 1_000);

parentPort.on("message", (message) => {
  if (message !== "stop") return;
  stopping = true;
  timers.forEach(clearInterval);
  clearInterval(flushTimer);
  flush();
  for (const socket of sockets) socket.disconnect();
  loopDelay.disable();
  const loop = { p50: loopDelay.percentile(50) / 1e6, p99: loopDelay.percentile(99) / 1e6, max: loopDelay.max / 1e6 };
  parentPort.postMessage({ type: "normal-done", stats, loop });
});

// One after the other, at a pace the handshake rate limit of their one address allows.
for (let i = 0; i < clients; i++) {
  await start(i);
  await new Promise((resolve) => setTimeout(resolve, connectEveryMs));
}
parentPort.postMessage({ type: "ready", stats });
