// Events and acks both ways with the official socket.io-client, for each transport mode and
// each parser: the client's events reach their handlers in order, the server's acks carry
// every argument, and the server's own emit with ack gets the client's answer or times out.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  Inbox,
  MODES,
  PARSERS,
  QUIET_PERIOD,
  ack,
  ackWithin,
  connected,
  nextEvent,
  useSocketTestbed,
} from "../lib/socketio.mjs";

/** Arguments of every JSON kind, and text that is not ASCII. */
const ARGS = ["héllo ✓ 😀", 42, -1.5, true, null, { a: { b: [1, "two", { c: false }] } }, [1, [2, [3]]]];

for (const [parserName, parser] of Object.entries(PARSERS)) {
  describe(`socket.io events (${parserName} parser)`, () => {
    const { server, clients } = useSocketTestbed(parser.env, parser.options);

    for (const [mode, transports] of Object.entries(MODES)) {
      it(`the server greets a new socket, and emits back what it is sent (${mode})`, async () => {
        const socket = clients.socket(server.url, "/", { transports });
        const hello = nextEvent(socket, "hello");
        await connected(socket);
        const [greeting] = await hello;
        assert.deepEqual(greeting, { id: socket.id, nsp: "/", recovered: false });
        const [me] = await ack(socket, "whoami");
        assert.equal(me.id, socket.id);
        assert.equal(me.transport, transports.at(-1), "the server sees the transport of the mode");

        const back = nextEvent(socket, "emit-back");
        socket.emit("emit-back", ...ARGS);
        assert.deepEqual(await back, ARGS);

        const none = nextEvent(socket, "emit-back");
        socket.emit("emit-back");
        assert.deepEqual(await none, [], "an event without arguments comes back without any");
      });

      it(`the server acks with every argument; typed handlers read theirs (${mode})`, async () => {
        const socket = await clients.connect(server.url, "/", { transports });
        assert.deepEqual(await ack(socket, "echo", ...ARGS), ARGS);
        assert.deepEqual(await ack(socket, "echo"), []);
        assert.deepEqual(await ack(socket, "sum", 40, 2), [42]);
        // Arguments that do not fit the handler's types: it is skipped, so no ack comes.
        await assert.rejects(ackWithin(QUIET_PERIOD, socket, "sum", "forty", 2), /no ack/);
        // An event without a handler gets no ack either, and breaks nothing.
        await assert.rejects(ackWithin(QUIET_PERIOD, socket, "nobody-listens", 1), /no ack/);
        assert.deepEqual(await ack(socket, "sum", 1, 2), [3]);
      });

      it(`events reach their handlers in the order they were sent (${mode})`, async () => {
        const socket = await clients.connect(server.url, "/", { transports });
        const inbox = new Inbox(socket, "emit-back");
        const count = 200;
        for (let i = 0; i < count; i++) socket.emit("emit-back", i);
        const received = await inbox.first(count);
        assert.deepEqual(
          received.map(([n]) => n),
          Array.from({ length: count }, (_, i) => i),
        );
      });

      it(`the server's emit with ack gets the client's answer (${mode})`, async () => {
        const socket = await clients.connect(server.url, "/", { transports });
        const target = { event: "question", timeout: 2_000 };
        const questions = new Inbox(socket, "question", {
          reply: ([, data]) => ["answer", data.n + 1, { nested: [data.n] }],
        });
        const [error, answer] = await ack(socket, "server-ack", target, { n: 41 });
        assert.equal(error, null);
        assert.deepEqual(answer, ["answer", 42, { nested: [41] }]);
        const [[sentTarget, sentData]] = await questions.first(1);
        assert.deepEqual([sentTarget, sentData], [target, { n: 41 }]);
      });

      it(`the server's emit with ack times out when the client never acks (${mode})`, async () => {
        const socket = await clients.connect(server.url, "/", { transports });
        const questions = new Inbox(socket, "question"); // never acks
        const started = performance.now();
        const [error, answer] = await ack(socket, "server-ack", { event: "question", timeout: 150 }, 1);
        const waited = performance.now() - started;
        assert.equal(error, "timeout");
        assert.equal(answer, null);
        assert.equal(questions.received.length, 1, "the client was asked");
        assert.ok(waited >= 140, `the server waited its timeout (${waited.toFixed(0)} ms)`);
        // The socket goes on: a late ack is ignored and the next one works.
        const [again] = await ack(socket, "sum", 2, 2);
        assert.equal(again, 4);
      });
    }

    it("events sent before, during and after the upgrade arrive once, in order, both ways", async () => {
      const socket = clients.socket(server.url, "/", { transports: MODES["polling then upgrade"] });
      const engine = socket.io.engine;
      let sent = 0;
      let upgradedAt = -1;
      engine.once("upgrade", () => (upgradedAt = sent));
      const inbox = new Inbox(socket, "emit-back");
      // Emits start at once (the client holds them until it is connected) and go on, a few
      // per turn of the event loop, until well after the upgrade.
      await new Promise((resolve, reject) => {
        const pump = () => {
          for (let i = 0; i < 5; i++) socket.emit("emit-back", sent++);
          if (upgradedAt >= 0 && sent >= upgradedAt + 200) resolve();
          else if (sent >= 100_000) reject(new Error(`no upgrade after ${sent} events`));
          else setImmediate(pump);
        };
        pump();
      });
      assert.ok(upgradedAt > 0, "some events were sent before the upgrade");
      assert.equal(engine.transport.name, "websocket");
      const received = await inbox.first(sent, { timeout: 15_000 });
      const numbers = received.map(([n]) => n);
      const expected = Array.from({ length: sent }, (_, i) => i);
      assert.deepEqual(numbers, expected);
      await assert.rejects(inbox.first(sent + 1, { timeout: 100 }), /within/, "nothing twice");
    });
  });
}
