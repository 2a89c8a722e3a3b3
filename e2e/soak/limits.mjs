// The soak's attackers that go over the server's limits: messages and POST bodies above
// `max_payload`, lengths announced and never sent, and event floods above the event rate.
import * as raw from "./raw.mjs";

/** A WebSocket message one byte over `max_payload`: closed with 1009. */
export async function oversizeMessage(ctx) {
  const { socket, outcome } = await raw.engineSession(ctx.port, raw.loopback(ctx.block), "/");
  if (!socket) return ctx.record(`session refused: ${outcome}`);
  raw.send(socket, `42["echo","${"x".repeat(ctx.maxPayload)}"]`);
  const closed = await raw.within(socket.ended, 10_000);
  const answer = closed ? raw.closeOutcome(socket) : "still open after 10 s";
  socket.destroy();
  if (!closed) ctx.unexpected("an oversize WebSocket message was not refused within 10 s");
  ctx.record(`message of ${ctx.maxPayload + 12} bytes: ${answer}`);
}

/** A long-polling POST body over `max_payload`: 413 code 3. */
export async function oversizePost(ctx) {
  const address = raw.loopback(ctx.block);
  const { sid, outcome: opened } = await raw.pollingSession(ctx.port, address);
  if (!sid) return ctx.record(`polling handshake refused: ${opened}`);
  const head = `POST /socket.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1`;
  const { outcome } = await raw.request(ctx.port, address, head, `4${"x".repeat(ctx.maxPayload)}`);
  if (!outcome.startsWith("HTTP 4")) ctx.unexpected(`an oversize POST was answered ${outcome}`);
  ctx.record(`POST of ${ctx.maxPayload + 1} bytes: ${outcome}`);
}

/**
 * A frame or a POST that announces a huge length, sends a little of it and stalls: the
 * server refuses it on the announced length, without waiting for the rest.
 */
export async function announcedAndStalled(ctx) {
  const address = raw.loopback(ctx.block);
  const started = performance.now();
  let socket;
  let what;
  if (Math.random() < 0.5) {
    what = "WebSocket frame announcing 1 TiB";
    ({ socket } = await raw.engineSession(ctx.port, address, "/"));
    if (!socket) return ctx.record("session refused");
    socket.write(raw.clientFrame(1, "42[", 2 ** 40));
  } else {
    what = "POST announcing 1 GB";
    const { sid, outcome: opened } = await raw.pollingSession(ctx.port, address);
    if (!sid) return ctx.record(`polling handshake refused: ${opened}`);
    socket = await raw.connect(ctx.port, address);
    socket.write(
      `POST /socket.io/?EIO=4&transport=polling&sid=${sid} HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
        "Content-Length: 1000000000\r\n\r\n4xxxxxxxx",
    );
  }
  const answered = await raw.within(socket.ended, 30_000);
  const outcome = what.startsWith("POST") ? raw.httpOutcome(socket.received) : raw.closeOutcome(socket);
  socket.destroy();
  ctx.timed(performance.now() - started);
  if (!answered) ctx.unexpected(`${what}: still open after 30 s`);
  ctx.record(`${what}, then stalled: ${answered ? outcome : "still open after 30 s"}`);
}

/**
 * A burst of events far over the event rate (`EVENT_RATE`): the server sends the `"error"`
 * event, then (`EVENT_RATE` ending in `/disconnect`) a DISCONNECT and closes.
 */
export async function flood(ctx) {
  const { socket, outcome } = await raw.engineSession(ctx.port, raw.loopback(ctx.block), "/");
  if (!socket) return ctx.record(`session refused: ${outcome}`);
  const packets = [];
  for (let i = 0; i < ctx.floodSize; i++) packets.push(raw.clientFrame(1, `42["echo",${i}]`));
  socket.write(Buffer.concat(packets));
  const limited = await raw.untilPacket(socket, (packet) => packet.includes("Rate limit exceeded"), 10_000);
  const disconnected = await raw.untilPacket(socket, (packet) => packet === "41", 5_000);
  socket.destroy();
  if (!limited) ctx.unexpected(`a flood of ${ctx.floodSize} events was not rate limited`);
  ctx.record(
    `${ctx.floodSize} events at once: ${limited ? '"error" Rate limit exceeded' : "not limited"}` +
      `${disconnected ? ", then DISCONNECT" : ""}`,
  );
}
