// Connection state recovery with the official socket.io-client: the transport dies in the
// middle of a stream of 10,000 server emits; after the reconnect the client has every
// message exactly once and in order, and `socket.recovered` is true. After the time limit
// it is false, and the server's connection handler knows it too.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PARSERS, nextEvent, useSocketTestbed } from "../lib/socketio.mjs";

const COUNT = 10_000;

/** Drops the client's TCP connection, as a network failure would; no close frame is sent. */
function killTransport(socket) {
  const transport = socket.io.engine.transport;
  if (transport.name === "websocket") {
    transport.ws._socket.destroy();
  } else {
    // Long-polling has no single connection to cut: close the engine as a lost network
    // would be noticed, without a Socket.IO DISCONNECT.
    socket.io.engine.close();
  }
}

/** Resolves with the next `event` on `emitter`, whatever comes before; rejects after `timeout` ms. */
function onceWithin(emitter, event, timeout) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "${event}" within ${timeout} ms`)), timeout);
    emitter.once(event, (...args) => {
      clearTimeout(timer);
      resolve(args);
    });
  });
}

/** Resolves once `count` ticks arrived, or rejects after `timeout` ms. */
function ticksUntil(got, count, timeout = 20_000) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = () => {
      if (got.length >= count) return resolve();
      if (Date.now() - started > timeout) {
        return reject(new Error(`${got.length} of ${count} ticks arrived`));
      }
      setTimeout(check, 5);
    };
    check();
  });
}

/** The first position where `got` differs from 1, 2, 3, …, or -1. */
function firstGap(got) {
  return got.findIndex((n, i) => n !== i + 1);
}

for (const [parserName, parser] of Object.entries(PARSERS)) {
  for (const transports of [["websocket"], ["polling"]]) {
    describe(`connection state recovery (${parserName} parser, ${transports[0]})`, () => {
      const { server, clients } = useSocketTestbed(
        { ...parser.env, RECOVERY: "5000" },
        parser.options,
      );

      it("a client cut off mid-stream gets every message once, in order", async () => {
        const socket = clients.socket(server.url, "/", {
          transports,
          reconnection: true,
          reconnectionDelay: 50,
          reconnectionDelayMax: 200,
        });
        const got = [];
        socket.on("tick", (n) => got.push(n));
        const [hello] = await nextEvent(socket, "hello");
        assert.equal(hello.recovered, false);
        assert.equal(socket.recovered, false);
        const id = socket.id;

        socket.emit("stream", { count: COUNT });
        await ticksUntil(got, 1_000);
        const reconnected = onceWithin(socket, "connect", 10_000);
        killTransport(socket);
        await reconnected;
        assert.equal(socket.recovered, true, "the client was recovered");
        assert.equal(socket.id, id, "with the same id");
        assert.ok(got.length < COUNT, "the stream was still going when the transport died");

        await ticksUntil(got, COUNT);
        await new Promise((resolve) => setTimeout(resolve, 100));
        assert.equal(got.length, COUNT, "no message twice");
        assert.equal(firstGap(got), -1, "every message, in order");
      });
    });

    describe(`connection state recovery expires (${parserName} parser, ${transports[0]})`, () => {
      const { server, clients } = useSocketTestbed(
        { ...parser.env, RECOVERY: "300" },
        parser.options,
      );

      it("after the time limit the client and the server see a new socket", async () => {
        const socket = clients.socket(server.url, "/", { transports, reconnection: false });
        const [hello] = await nextEvent(socket, "hello");
        assert.equal(hello.recovered, false);
        const id = socket.id;
        socket.emit("stream", { count: 3 });
        const got = [];
        socket.on("tick", (n) => got.push(n));
        await ticksUntil(got, 3);

        const closed = nextEvent(socket, "disconnect");
        killTransport(socket);
        await closed;
        // RECOVERY is 300 ms here: wait longer than that, then reconnect by hand.
        await new Promise((resolve) => setTimeout(resolve, 800));
        const again = nextEvent(socket, "hello", { timeout: 10_000 });
        socket.connect();
        const [greeting] = await again;
        assert.equal(greeting.recovered, false, "the server's connection handler was told");
        assert.equal(socket.recovered, false);
        assert.notEqual(socket.id, id);
      });
    });
  }
}
