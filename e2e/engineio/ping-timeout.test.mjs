// A client that stops answering pings is closed by the server, pingTimeout after the ping it
// ignored, long before the client's own timer would have given up.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MODES, nextEvent, pollRaw, upgraded, useTestbed } from "../lib/engineio.mjs";

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
/**
 * The pingTimeout the client is told to use instead: its own timer then fires
 * PING_INTERVAL + CLIENT_PING_TIMEOUT after the last ping, far after the server's.
 */
const CLIENT_PING_TIMEOUT = 5_000;
/** Scheduling and delivery delays the server may add to its timeout. */
const SLACK = 1_000;

/** The client keeps getting pings but sends no pong from now on. */
function mutePongs(socket) {
  const sendPacket = socket._sendPacket;
  assert.equal(typeof sendPacket, "function", "engine.io-client internals changed");
  let muted = 0;
  socket._sendPacket = function (type, ...rest) {
    if (type === "pong") {
      muted++;
      return;
    }
    return sendPacket.call(this, type, ...rest);
  };
  return () => muted;
}

describe("ping timeout", () => {
  const { server, clients } = useTestbed({
      PING_INTERVAL: String(PING_INTERVAL),
      PING_TIMEOUT: String(PING_TIMEOUT),
    });

  for (const [mode, transports] of Object.entries(MODES)) {
    it(`the server closes a client that stops answering pings (${mode})`, async () => {
      const socket = clients.socket(server.url, transports);
      socket.on("handshake", (handshake) => {
        // engine.io-client reads the timings from this object right after the event.
        handshake.pingTimeout = CLIENT_PING_TIMEOUT;
      });
      await nextEvent(socket, "open");
      assert.equal(socket._pingTimeout, CLIENT_PING_TIMEOUT, "the client's own timer is patient");
      const sid = socket.id;
      if (transports.length > 1) await upgraded(socket);

      const mutedAt = performance.now();
      const muted = mutePongs(socket);
      await nextEvent(socket, "ping");
      const firstUnanswered = performance.now();
      const [reason, description] = await nextEvent(socket, "close", {
        timeout: PING_INTERVAL + CLIENT_PING_TIMEOUT - 500,
      });
      const closedAt = performance.now();

      assert.equal(
        reason,
        "transport close",
        `the server must close it, not the client's timer (${description?.description ?? ""})`,
      );
      assert.equal(muted(), 1, "exactly one ping went unanswered");
      const afterPing = closedAt - firstUnanswered;
      assert.ok(
        afterPing >= PING_TIMEOUT / 4 && afterPing <= PING_TIMEOUT + SLACK,
        `closed ${afterPing.toFixed(0)} ms after the unanswered ping`,
      );
      const afterMute = closedAt - mutedAt;
      assert.ok(
        afterMute <= PING_INTERVAL + PING_TIMEOUT + SLACK,
        `closed ${afterMute.toFixed(0)} ms after the pongs stopped`,
      );
      if (transports.length > 1) assert.equal(socket.transport.name, "websocket");

      // The session is gone.
      const { status, body } = await pollRaw(server.url, sid);
      assert.equal(status, 400);
      assert.deepEqual(JSON.parse(body), { code: 1, message: "Session ID unknown" });
    });
  }
});
