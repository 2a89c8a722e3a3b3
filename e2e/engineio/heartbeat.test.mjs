// The server's heartbeat with the official engine.io-client: a client that answers pings stays
// connected however long it is idle. Time is what is tested here, so this file sleeps.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { MODES, nextEvent, nextMessages, upgraded, useTestbed } from "../lib/engineio.mjs";

const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;
/** More than three intervals, and more than interval + timeout after the third ping. */
const IDLE = 4 * PING_INTERVAL + 100;

describe("heartbeat keeps an idle session alive", () => {
  const { server, clients } = useTestbed({
      PING_INTERVAL: String(PING_INTERVAL),
      PING_TIMEOUT: String(PING_TIMEOUT),
    });

  for (const [mode, transports] of Object.entries(MODES)) {
    it(`stays open for more than three ping intervals while idle (${mode})`, async () => {
      const socket = clients.socket(server.url, transports);
      const pings = [];
      let closed = null;
      socket.on("ping", () => pings.push(performance.now()));
      socket.on("close", (reason) => {
        closed = reason;
      });
      const [handshake] = await nextEvent(socket, "handshake");
      assert.equal(handshake.pingInterval, PING_INTERVAL);
      assert.equal(handshake.pingTimeout, PING_TIMEOUT);
      const openedAt = performance.now();
      if (transports.length > 1) await upgraded(socket);

      await sleep(IDLE - (performance.now() - openedAt));
      // A busy machine may delay the third ping a little; wait for it rather than fail.
      while (pings.length < 3 && closed === null) await nextEvent(socket, "ping");

      assert.equal(closed, null, "the session closed while idle");
      assert.equal(socket.readyState, "open");
      assert.ok(pings.length >= 3, `saw ${pings.length} pings`);
      // The server pings once per interval, not more often.
      for (let i = 1; i < pings.length; i++) {
        const gap = pings[i] - pings[i - 1];
        assert.ok(gap >= PING_INTERVAL - 100, `ping ${i} came ${gap.toFixed(0)} ms after the last`);
      }
      if (transports.length > 1) assert.equal(socket.transport.name, "websocket");
      const echoes = nextMessages(socket, 1);
      socket.send("still here");
      assert.deepEqual(await echoes, ["still here"]);
    });
  }
});
