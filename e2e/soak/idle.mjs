// The soak's half-open attackers: connections that hold a slot and do nothing the server
// needs. Each must be closed by the server on its own (heartbeat, request-head timeout), and
// the time that took is recorded.
import { closeOutcome, connect, engineSession, loopback, pollingSession, request, within } from "./raw.mjs";

/** How long `serve` gives a client to send a request's head, and some slack. */
const HEAD_TIMEOUT_MS = 30_000;
const SLACK_MS = 10_000;

/**
 * A WebSocket session that joins `/`, then never reads again (so never answers a ping): the
 * heartbeat closes it within `ping_interval + ping_timeout`.
 */
export async function silentWebSocket(ctx) {
  const { socket, outcome } = await engineSession(ctx.port, loopback(ctx.block), "/");
  if (!socket) return ctx.record(`session refused: ${outcome}`);
  const started = performance.now();
  socket.pause();
  // Paused, the socket reports no close: look again once the heartbeat must have run.
  await new Promise((resolve) => setTimeout(resolve, ctx.heartbeatMs + 2_000));
  socket.resume();
  const closed = await within(socket.ended, SLACK_MS);
  socket.destroy();
  if (!closed) ctx.unexpected("a WebSocket that never answered pings was not closed");
  if (closed) ctx.timed(performance.now() - started);
  ctx.record(closed ? `closed by the heartbeat: ${closeOutcome(socket)}` : "still open");
}

/**
 * A long-polling session that never polls again: closed by the heartbeat (or by
 * `connect_timeout`, as it joins no namespace). What was queued for it (the ping) and then
 * the close packet wait for its next GETs, for `ping_timeout` at most; after them, the
 * session is unknown (400 code 1).
 */
export async function silentPolling(ctx) {
  const address = loopback(ctx.block);
  const { sid, outcome: opened } = await pollingSession(ctx.port, address);
  if (!sid) return ctx.record(`polling handshake refused: ${opened}`);
  await new Promise((resolve) => setTimeout(resolve, ctx.heartbeatMs + 2_000));
  const path = `/socket.io/?EIO=4&transport=polling&sid=${sid}`;
  const answers = [];
  let closed = false;
  for (let i = 0; i < 3 && !closed; i++) {
    const { outcome, body } = await request(ctx.port, address, `GET ${path} HTTP/1.1`);
    answers.push(outcome === "HTTP 200" ? JSON.stringify(body) : outcome);
    closed = outcome === "HTTP 400 code 1" || (outcome === "HTTP 200" && body.split("\x1e").includes("1"));
    if (!outcome.startsWith("HTTP 200") && !closed) break;
  }
  if (!closed) ctx.unexpected(`a silent polling session was still open after the heartbeat: ${answers.join(", ")}`);
  ctx.record(`GETs after the heartbeat: ${answers.join(", then ")}`);
}

/**
 * A TCP connection that sends nothing, or a request head sent one byte a second
 * (slowloris): closed once the head has taken 30 s.
 */
export async function slowHead(ctx) {
  const socket = await connect(ctx.port, loopback(ctx.block));
  const started = performance.now();
  const slowloris = Math.random() < 0.5;
  let timer;
  if (slowloris) {
    const head = Buffer.from("GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ");
    socket.write(head);
    timer = setInterval(() => socket.write("a"), 1_000);
  }
  const closed = await within(socket.ended, HEAD_TIMEOUT_MS + SLACK_MS);
  clearInterval(timer);
  socket.destroy();
  const what = slowloris ? "slowloris head" : "silent TCP";
  if (!closed) ctx.unexpected(`${what}: still open after ${(HEAD_TIMEOUT_MS + SLACK_MS) / 1000} s`);
  if (closed) ctx.timed(performance.now() - started);
  const answer = socket.received.toString("latin1").match(/^HTTP\/1\.1 (\d{3})/);
  ctx.record(`${what}: ${closed ? `closed by the server${answer ? ` (HTTP ${answer[1]})` : ""}` : "still open"}`);
}
