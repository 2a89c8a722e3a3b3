// Disconnections with the official socket.io-client, for each transport mode: the reason the
// client sees, and the reason the server's disconnect handler gets (which the testbed reports
// to a watcher socket), for every way a socket can go.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  MODES,
  PARSERS,
  Watcher,
  ack,
  nextEvent,
  noEvent,
  rawConnect,
  useSocketTestbed,
} from "../lib/socketio.mjs";

/** Resolves with the reason of the next `disconnect` of `socket`. */
async function disconnection(socket) {
  const [reason] = await nextEvent(socket, "disconnect");
  return reason;
}

for (const [parserName, parser] of Object.entries(PARSERS)) {
  describe(`socket.io disconnect reasons (${parserName} parser)`, () => {
    const { server, clients } = useSocketTestbed(parser.env, parser.options);

    /** A socket on `/` that gets the server's reports of disconnections. */
    async function watcher() {
      const socket = await clients.connect(server.url, "/", { transports: ["websocket"] });
      const watcher = new Watcher(socket);
      assert.deepEqual(await ack(socket, "watch"), ["ok"]);
      return watcher;
    }

    for (const [mode, transports] of Object.entries(MODES)) {
      it(`server disconnect: "io server disconnect" / "server namespace disconnect" (${mode})`, async () => {
        const watch = await watcher();
        // Reconnection on: a socket the server disconnected must not come back by itself.
        const socket = await clients.connect(server.url, "/", { transports, reconnection: true });
        const id = socket.id;
        const gone = disconnection(socket);
        socket.emit("disconnect-me");
        assert.equal(await gone, "io server disconnect");
        assert.equal(await watch.reasonOf(id), "server namespace disconnect");
        assert.equal(socket.active, false, "the client does not reconnect");
        await noEvent(socket, "connect");
      });

      it(`client disconnect: "io client disconnect" / "client namespace disconnect" (${mode})`, async () => {
        const watch = await watcher();
        const socket = await clients.connect(server.url, "/", { transports });
        const id = socket.id;
        const gone = disconnection(socket);
        socket.disconnect();
        assert.equal(await gone, "io client disconnect");
        assert.equal(await watch.reasonOf(id), "client namespace disconnect");
      });

      it(`the client closes its connection: "transport close" on the server (${mode})`, async () => {
        const watch = await watcher();
        const manager = clients.manager(server.url, { transports });
        const [main, isolated] = [await clients.connectVia(manager, "/"), await clients.connectVia(manager, "/isolated")];
        const ids = [main.id, isolated.id];
        const gone = Promise.all([disconnection(main), disconnection(isolated)]);
        manager.engine.close();
        assert.deepEqual(await gone, ["forced close", "forced close"]);
        assert.deepEqual(
          await Promise.all(ids.map((id) => watch.recordOf(id))),
          [
            { id: ids[0], nsp: "/", reason: "transport close" },
            { id: ids[1], nsp: "/isolated", reason: "transport close" },
          ],
        );
      });

      it(`the server closes the connection: every namespace of it goes (${mode})`, async () => {
        const watch = await watcher();
        const manager = clients.manager(server.url, { transports, reconnection: true });
        const [main, isolated] = [await clients.connectVia(manager, "/"), await clients.connectVia(manager, "/isolated")];
        const ids = [main.id, isolated.id];
        const gone = Promise.all([disconnection(main), disconnection(isolated)]);
        isolated.emit("close-me");
        // As Node's `socket.disconnect(true)`, every namespace is told first: the client
        // sees a server disconnect, and does not reconnect by itself.
        assert.deepEqual(await gone, ["io server disconnect", "io server disconnect"]);
        assert.equal(main.active || isolated.active, false, "the client does not reconnect");
        assert.deepEqual(
          await Promise.all(ids.map((id) => watch.reasonOf(id))),
          ["forced close", "forced close"],
        );
      });

      it(`disconnect_sockets on a room disconnects its members only (${mode})`, async () => {
        const watch = await watcher();
        const [a, b, c] = await Promise.all(
          [0, 1, 2].map(() => clients.connect(server.url, "/", { transports })),
        );
        const room = `doomed-${mode}`;
        await Promise.all([ack(a, "join", room), ack(b, "join", room)]);
        const ids = [a.id, b.id];
        const gone = Promise.all([disconnection(a), disconnection(b)]);
        assert.deepEqual(await ack(c, "disconnect-room", room), ["ok"]);
        assert.deepEqual(await gone, ["io server disconnect", "io server disconnect"]);
        assert.deepEqual(
          await Promise.all(ids.map((id) => watch.reasonOf(id))),
          ["server namespace disconnect", "server namespace disconnect"],
        );
        assert.deepEqual(await ack(c, "echo", "still here"), ["still here"]);
      });

      it(`the server keeps a list of the reasons (${mode})`, async () => {
        const watch = await watcher();
        const socket = await clients.connect(server.url, "/isolated", { transports });
        const id = socket.id;
        socket.disconnect();
        await watch.reasonOf(id);
        const [reasons] = await ack(watch.socket, "reasons");
        assert.deepEqual(
          reasons.filter((record) => record.id === id),
          [{ id, nsp: "/isolated", reason: "client namespace disconnect" }],
        );
      });
    }
  });
}

describe("socket.io heartbeat and connect timeout", () => {
  const { server, clients } = useSocketTestbed({
    PING_INTERVAL: "200",
    PING_TIMEOUT: "200",
    CONNECT_TIMEOUT: "300",
  });

  /** The client keeps getting pings but sends no pong from now on. */
  function mutePongs(engine) {
    const sendPacket = engine._sendPacket;
    assert.equal(typeof sendPacket, "function", "engine.io-client internals changed");
    engine._sendPacket = function (type, ...rest) {
      if (type !== "pong") return sendPacket.call(this, type, ...rest);
    };
  }

  for (const [mode, transports] of Object.entries(MODES)) {
    it(`a client that stops answering pings: "ping timeout" on the server (${mode})`, async () => {
      const watcherSocket = await clients.connect(server.url, "/", { transports: ["websocket"] });
      const watch = new Watcher(watcherSocket);
      await ack(watcherSocket, "watch");
      const engine = await clients.engine(server.url, transports);
      const id = await rawConnect(engine);
      mutePongs(engine);
      assert.equal(await watch.reasonOf(id, { timeout: 3_000 }), "ping timeout");
    });

    it(`a connection that joins no namespace is closed at the connect timeout (${mode})`, async () => {
      const engine = await clients.engine(server.url, transports);
      const opened = performance.now();
      await nextEvent(engine, "close", { timeout: 3_000 });
      const waited = performance.now() - opened;
      assert.ok(waited >= 200, `closed after ${waited.toFixed(0)} ms, not at once`);
    });
  }
});
