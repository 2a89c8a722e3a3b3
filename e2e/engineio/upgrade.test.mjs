// Polling then upgrade with the official engine.io-client: 10,000 messages each way cross the
// upgrade exactly once and in order.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MODES, RELAXED_HEARTBEAT, firstDifference, nextEvent, nextMessages, numbers, useTestbed } from "../lib/engineio.mjs";

const COUNT = 10_000;
/** Messages sent per event-loop turn, so the sending spans the upgrade. */
const CHUNK = 20;
/** Never more than this many are sent before the upgrade, so some are always sent after it. */
const BEFORE_UPGRADE_MAX = COUNT / 2;

describe("upgrade from polling to websocket", () => {
  const { server, clients } = useTestbed(RELAXED_HEARTBEAT);

  it("starts on polling, upgrades, and the server then reports websocket", async () => {
    const socket = clients.socket(server.url, MODES["polling then upgrade"]);
    const [handshake] = await nextEvent(socket, "handshake");
    assert.deepEqual(handshake.upgrades, ["websocket"]);
    assert.equal(socket.transport.name, "polling");
    const [transport] = await nextEvent(socket, "upgrade");
    assert.equal(transport.name, "websocket");
    const echoes = nextMessages(socket, 1);
    socket.send("transport");
    assert.deepEqual(await echoes, ["websocket"]);
  });

  it(`echoes ${COUNT} messages sent before, during and after the upgrade exactly once, in order`, async () => {
    const socket = clients.socket(server.url, MODES["polling then upgrade"]);
    const expected = numbers(COUNT);
    const echoes = nextMessages(socket, COUNT, { timeout: 20_000 });
    let sent = 0;
    let upgrading = false;
    let upgradedAt = -1;
    let sentWhileUpgrading = 0;
    let resumeAfterUpgrade = null;

    const sendChunk = () => {
      const end = Math.min(sent + CHUNK, COUNT);
      for (; sent < end; sent++) socket.send(expected[sent]);
    };
    const pump = () => {
      if (sent === COUNT || socket.readyState !== "open") return;
      if (upgradedAt < 0 && sent >= BEFORE_UPGRADE_MAX) {
        resumeAfterUpgrade = pump;
        return;
      }
      sendChunk();
      setImmediate(pump);
    };
    socket.on("upgrading", () => {
      upgrading = true;
      // The client holds these back while it pauses polling; they must still go out once.
      const before = sent;
      sendChunk();
      sentWhileUpgrading += sent - before;
    });
    socket.on("upgrade", () => {
      upgrading = false;
      upgradedAt = sent;
      resumeAfterUpgrade?.();
    });
    socket.on("open", pump);

    const received = await echoes;
    assert.equal(firstDifference(received, expected), null);
    assert.equal(upgrading, false);
    assert.equal(socket.transport.name, "websocket", "the upgrade happened");
    assert.ok(upgradedAt > 0, `sent before the upgrade: ${upgradedAt}`);
    assert.ok(upgradedAt < COUNT, `sent after the upgrade: ${COUNT - upgradedAt}`);
    assert.ok(sentWhileUpgrading > 0, "some were sent while the client was upgrading");

    // Nothing more arrives: no duplicates trail behind.
    const extra = nextMessages(socket, 1);
    socket.send("end");
    assert.deepEqual(await extra, ["end"]);
  });

  it(`delivers a burst of ${COUNT} server messages across the upgrade exactly once, in order`, async () => {
    const socket = clients.socket(server.url, MODES["polling then upgrade"]);
    const expected = numbers(COUNT);
    const messages = nextMessages(socket, COUNT, { timeout: 20_000 });
    const upgrade = nextEvent(socket, "upgrade", { timeout: 20_000 });
    socket.on("open", () => socket.send(`burst:${COUNT}`));
    const received = await messages;
    assert.equal(firstDifference(received, expected), null);
    await upgrade;
    assert.equal(socket.transport.name, "websocket");
    const extra = nextMessages(socket, 1);
    socket.send("end");
    assert.deepEqual(await extra, ["end"]);
  });

  it("delivers bursts asked for at open, while upgrading and after it exactly once, in order", async () => {
    // The client holds back what it sends while upgrading and sends it on the WebSocket.
    const socket = clients.socket(server.url, MODES["polling then upgrade"]);
    const messages = nextMessages(socket, 3 * 3_000, { timeout: 20_000 });
    socket.on("open", () => socket.send("burst:3000"));
    socket.on("upgrading", () => socket.send("burst:3000"));
    socket.on("upgrade", () => socket.send("burst:3000"));
    const received = await messages;
    const expected = [...numbers(3_000), ...numbers(3_000), ...numbers(3_000)];
    assert.equal(firstDifference(received, expected), null);
    assert.equal(socket.transport.name, "websocket");
  });
});
