// Closing a session with the official engine.io-client: the server's close reaches the client
// after what was queued before it, and a client's close ends the session on the server.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { MODES, RELAXED_HEARTBEAT, nextEvent, nextMessages, pollRaw, upgraded, useTestbed } from "../lib/engineio.mjs";

const UNKNOWN_SID = { code: 1, message: "Session ID unknown" };

/** Asks the server until it no longer knows `sid` (it forgets it asynchronously). */
async function forgotten(url, sid, { timeout = 2_000 } = {}) {
  const deadline = performance.now() + timeout;
  for (;;) {
    const { status, body } = await pollRaw(url, sid);
    if (status === 400 && JSON.parse(body).code === UNKNOWN_SID.code) return JSON.parse(body);
    if (performance.now() > deadline) {
      assert.fail(`the server still knows ${sid} after ${timeout} ms: ${status} ${body}`);
    }
    await sleep(10);
  }
}

describe("close", () => {
  const { server, clients } = useTestbed(RELAXED_HEARTBEAT);

  for (const [mode, transports] of Object.entries(MODES)) {
    it(`a server-side close reaches the client after the queued messages (${mode})`, async () => {
      const socket = await clients.open(server.url, transports);
      const sid = socket.id;
      if (transports.length > 1) await upgraded(socket);
      const received = [];
      socket.on("message", (data) => received.push(data));
      const closed = nextEvent(socket, "close");
      socket.send("burst:3");
      socket.send("close");
      socket.send("sent after close");
      const [reason] = await closed;
      assert.equal(reason, "transport close");
      assert.deepEqual(received, ["0", "1", "2"], "what was queued before the close arrives");
      assert.equal(socket.readyState, "closed");
      const { status, body } = await pollRaw(server.url, sid);
      assert.equal(status, 400);
      assert.deepEqual(JSON.parse(body), UNKNOWN_SID);
    });

    it(`a client-side close ends the session on the server (${mode})`, async () => {
      const socket = await clients.open(server.url, transports);
      const sid = socket.id;
      if (transports.length > 1) await upgraded(socket);
      const closed = nextEvent(socket, "close");
      socket.close();
      const [reason] = await closed;
      assert.equal(reason, "forced close");
      assert.deepEqual(await forgotten(server.url, sid), UNKNOWN_SID);
    });
  }

  it("a server-side close at once after the handshake reaches a client about to upgrade", async () => {
    const socket = clients.socket(server.url, MODES["polling then upgrade"]);
    const closed = nextEvent(socket, "close");
    socket.on("open", () => socket.send("close"));
    const [reason] = await closed;
    assert.equal(reason, "transport close");
  });

  it("closing one session leaves the others open", async () => {
    const [a, b] = await Promise.all([
      clients.open(server.url, MODES["websocket only"]),
      clients.open(server.url, MODES["polling only"]),
    ]);
    const closed = nextEvent(a, "close");
    a.send("close");
    await closed;
    const echoes = nextMessages(b, 1);
    b.send("still open");
    assert.deepEqual(await echoes, ["still open"]);
  });
});
