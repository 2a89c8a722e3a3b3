// The soak's rapid reconnects: clients that connect, emit with an ack, and leave, as fast as
// they can (each loop from one loopback address, so the handshake rate limit bites).
import { engineSession, pollingSession, request, send, untilPacket } from "./raw.mjs";

/**
 * Over WebSocket: connect to `/`, emit `echo` with an ack, wait for it, then leave politely
 * (DISCONNECT and a close frame) or drop the TCP connection.
 */
export async function reconnectWebSocket(ctx) {
  const { socket, outcome } = await engineSession(ctx.port, ctx.address, "/");
  if (!socket) return ctx.record(`refused: ${outcome}`);
  send(socket, '421["echo","churn"]');
  const acked = await untilPacket(socket, (packet) => packet.startsWith("431["), 10_000);
  if (!acked) ctx.unexpected("a reconnecting client got no ack within 10 s");
  const polite = Math.random() < 0.5;
  if (polite) {
    send(socket, "41");
    socket.end();
  }
  socket.destroy();
  ctx.record(`${acked ? "acked" : "no ack"}, then ${polite ? "DISCONNECT" : "TCP dropped"}`);
}

/**
 * Over long-polling: open a session, CONNECT to `/` and emit in one POST, collect the CONNECT
 * reply, then close the session (a close packet) or walk away from it.
 */
export async function reconnectPolling(ctx) {
  const { sid, outcome: opened } = await pollingSession(ctx.port, ctx.address);
  if (!sid) return ctx.record(`refused: ${opened}`);
  const path = `/socket.io/?EIO=4&transport=polling&sid=${sid}`;
  const posted = await request(ctx.port, ctx.address, `POST ${path} HTTP/1.1`, '40\x1e42["echo","churn"]');
  const polled = await request(ctx.port, ctx.address, `GET ${path} HTTP/1.1`);
  const joined = polled.body.startsWith("40");
  if (!joined) ctx.unexpected(`a polling client got no CONNECT reply: POST ${posted.outcome}, GET ${polled.outcome}`);
  const polite = Math.random() < 0.5;
  if (polite) await request(ctx.port, ctx.address, `POST ${path} HTTP/1.1`, "1");
  ctx.record(`${joined ? "joined" : "not joined"}, then ${polite ? "closed" : "walked away"}`);
}
