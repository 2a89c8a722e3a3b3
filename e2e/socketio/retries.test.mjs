// At-least-once from client to server: the official client's `retries` (with `ackTimeout`)
// sends each event until it is acknowledged. The server acknowledges every event a handler
// took, even when the handler sends no ack of its own (`emit-back` here), so each event is
// handled once and no retry is needed; an event no handler takes is not acknowledged, and
// the client gives up after its retries.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Inbox, MODES, useSocketTestbed } from "../lib/socketio.mjs";

const EVENTS = 50;
const ACK_TIMEOUT = 300;

describe("retries from socket.io-client", () => {
  const { server, clients } = useSocketTestbed();

  for (const [mode, transports] of Object.entries(MODES)) {
    it(`events whose handler sends no ack are acknowledged, once each (${mode})`, async () => {
      const socket = await clients.connect(server.url, "/", {
        transports,
        retries: 2,
        ackTimeout: ACK_TIMEOUT,
      });
      const back = new Inbox(socket, "emit-back");
      const acked = Array.from(
        { length: EVENTS },
        (_, n) =>
          new Promise((resolve, reject) => {
            socket.emit("emit-back", n, (error, ...args) => (error ? reject(error) : resolve(args)));
          }),
      );
      const answers = await Promise.all(acked);
      assert.deepEqual(answers, Array.from({ length: EVENTS }, () => []), "empty acks");
      const received = await back.first(EVENTS);
      assert.deepEqual(
        received.map(([n]) => n),
        Array.from({ length: EVENTS }, (_, n) => n),
      );
      // Longer than the ack timeout: a retry would have come by now.
      await new Promise((resolve) => setTimeout(resolve, ACK_TIMEOUT * 2));
      assert.equal(back.received.length, EVENTS, "no event was handled twice");
    });
  }

  it("an event no handler takes is not acknowledged, and the client gives up", async () => {
    const socket = await clients.connect(server.url, "/", {
      transports: ["websocket"],
      retries: 1,
      ackTimeout: ACK_TIMEOUT,
    });
    const answer = new Promise((resolve) => {
      socket.emit("no-such-event", 1, (error) => resolve(error));
    });
    const error = await answer;
    assert.ok(error instanceof Error, "the client reports the missing ack");
    assert.match(error.message, /timed out/);
  });
});
