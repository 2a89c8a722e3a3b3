// The client against the official Node socket.io server (in this process), over its
// transports and with both parsers.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import WebSocket from "ws";
import { startNode, stopAll } from "./lib/servers.mjs";
import { MODES, clients, collect, connected, eventually, msgpack, officialMsgpack, once } from "./socket-lib.mjs";

const PARSERS = {
  json: { server: {}, client: {} },
  msgpack: { server: { parser: officialMsgpack }, client: { parser: msgpack.parser } },
};

const bytes = (value) => [...new Uint8Array(value)];

/** The handlers of the testbed's events that the tests use, on namespace `nsp`. */
function handlers(io, nsp) {
  const reasons = [];
  const tries = new Map();
  nsp.on("connection", (socket) => {
    socket.emit("hello", { id: socket.id, nsp: socket.nsp.name, recovered: socket.recovered });
    socket.on("echo", (...args) => args.pop()(...args));
    socket.on("emit-back", (...args) => socket.emit("emit-back", ...args));
    socket.on("sum", (a, b, ack) => ack(a + b));
    socket.on("server-ack", (target, data, ack) =>
      socket.timeout(target.timeout).emit(target.event, target, data, (err, ...answer) =>
        ack(err ? "timeout" : null, err ? null : answer),
      ),
    );
    socket.on("whoami", (ack) =>
      ack({
        id: socket.id,
        nsp: socket.nsp.name,
        connection: socket.conn.id,
        transport: socket.conn.transport.name,
        auth: socket.handshake.auth,
      }),
    );
    // Answers the second try of each id only.
    socket.on("flaky", (id, ack) => {
      const n = (tries.get(id) ?? 0) + 1;
      tries.set(id, n);
      if (n === 2) ack("ok", id, n);
    });
    socket.on("tries", (id, ack) => ack(tries.get(id) ?? 0));
    socket.on("disconnect-me", () => socket.disconnect());
    socket.on("reasons", (ack) => ack(reasons));
    socket.on("stream", async ({ count }) => {
      for (let n = 1; n <= count; n++) {
        socket.emit("tick", n);
        if (n % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 1));
      }
    });
    socket.on("disconnect", (reason) => reasons.push({ id: socket.id, nsp: socket.nsp.name, reason }));
  });
}

/** A Node socket.io server with the handlers on `/` and, behind an auth check, `/private`. */
async function nodeServer(options) {
  const server = await startNode("socket.io", { pingInterval: 300, pingTimeout: 200, ...options });
  handlers(server.server, server.server.of("/"));
  const secret = server.server.of("/private");
  secret.use((socket, next) => {
    if (socket.handshake.auth?.token === "secret") return next();
    const err = new Error("not authorized");
    err.data = { reason: "a token is needed", code: 4001 };
    next(err);
  });
  handlers(server.server, secret);
  return server;
}

after(() => stopAll());

for (const [parserName, parser] of Object.entries(PARSERS)) {
  describe(`Node socket.io, ${parserName} parser`, () => {
    let server;
    const pool = clients();
    before(async () => (server = await nodeServer(parser.server)));
    afterEach(() => pool.closeAll());
    after(() => server.stop());

    for (const [modeName, mode] of Object.entries(MODES)) {
      test(`${modeName}: connect, events and acks both ways, binary both ways`, async () => {
        const socket = pool.open(server.url, { ...mode, ...parser.client });
        const backs = collect(socket, "emit-back", 2);
        socket.emit("emit-back", "buffered", { n: 1 });
        const [hello] = await once(socket, "hello");
        assert.equal(hello.id, socket.id);
        assert.equal(hello.recovered, false);

        assert.deepEqual(
          await new Promise((resolve) => socket.emit("echo", "a", 1, { x: [null] }, (...args) => resolve(args))),
          ["a", 1, { x: [null] }],
        );
        assert.equal(await socket.emitWithAck("sum", 20, 22), 42);

        socket.emit("emit-back", new Uint8Array([1, 2, 3]), { nested: [new Uint8Array([4]).buffer] });
        const [[first, data], [bin, nested]] = await backs;
        assert.deepEqual([first, data], ["buffered", { n: 1 }]);
        assert.deepEqual(bytes(bin), [1, 2, 3]);
        assert.deepEqual(bytes(nested.nested[0]), [4]);

        socket.on("ask", (target, data, answer) => answer("answer to", data, new Uint8Array([7])));
        const [err, answer] = await new Promise((resolve) =>
          socket.emit("server-ack", { event: "ask", timeout: 2000 }, "q", (...a) => resolve(a)),
        );
        assert.equal(err, null);
        assert.deepEqual(answer.slice(0, 2), ["answer to", "q"]);
        assert.deepEqual(bytes(answer[2]), [7]);

        await assert.rejects(socket.timeout(100).emitWithAck("nobody"), /timed out/);
        const whoami = await socket.emitWithAck("whoami");
        if (mode.transports.length === 1) assert.equal(whoami.transport, mode.transports[0]);
      });
    }

    test("retries with ackTimeout: sent again until acked, one at a time", async () => {
      const socket = await pool.connect(server.url, {
        ...parser.client,
        transports: ["websocket"],
        retries: 3,
        ackTimeout: 150,
      });
      const sent = [];
      socket.onAnyOutgoing((...args) => sent.push(args));
      const results = await Promise.all(
        ["a", "b"].map((id) => new Promise((resolve) => socket.emit("flaky", id, (...args) => resolve(args)))),
      );
      assert.deepEqual(results, [
        [null, "ok", "a", 2],
        [null, "ok", "b", 2],
      ]);
      // One at a time: "b" only once "a" was acked.
      assert.deepEqual(sent, [
        ["flaky", "a"],
        ["flaky", "a"],
        ["flaky", "b"],
        ["flaky", "b"],
      ]);
      // The tries left are not used.
      assert.equal(await socket.emitWithAck("tries", "a"), 2);

      const gaveUp = await new Promise((resolve) => socket.emit("nobody", (...args) => resolve(args)));
      assert.match(gaveUp[0].message, /timed out/);
    });

    test("auth object and function, connect_error data, namespaces over one connection", async () => {
      const opts = { ...parser.client, transports: ["websocket"] };
      const main = await pool.connect(server.url, opts);
      const objectAuth = main.io.socket("/private", { auth: { token: "secret", user: "ann" } });
      await connected(objectAuth);
      const [a, b] = await Promise.all([main.emitWithAck("whoami"), objectAuth.emitWithAck("whoami")]);
      assert.equal(a.connection, b.connection, "one Engine.IO connection");
      assert.deepEqual(b.auth, { token: "secret", user: "ann" });
      assert.equal(b.nsp, "/private");

      const fnAuth = await pool.connect(server.url + "/private", {
        ...opts,
        auth: (cb) => cb({ token: "secret", via: "function" }),
      });
      assert.deepEqual((await fnAuth.emitWithAck("whoami")).auth, { token: "secret", via: "function" });

      const refused = pool.open(server.url + "/private", opts);
      const [err] = await once(refused, "connect_error");
      assert.equal(err.message, "not authorized");
      assert.deepEqual(err.data, { reason: "a token is needed", code: 4001 });
      assert.equal(refused.active, false);
    });

    test("disconnect reasons; no reconnection after the server's disconnect", async () => {
      const opts = { ...parser.client, transports: ["websocket"], reconnectionDelay: 50 };
      const socket = await pool.connect(server.url, opts);
      const attempts = [];
      socket.io.on("reconnect_attempt", (n) => attempts.push(n));
      socket.emit("disconnect-me");
      assert.deepEqual(await once(socket, "disconnect"), ["io server disconnect", undefined]);
      // Time for several attempts 50 ms apart, had there been any.
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(attempts, []);
      assert.equal(socket.active, false);

      const watcher = await pool.connect(server.url, opts);
      socket.connect();
      await connected(socket);
      const id = socket.id;
      socket.disconnect();
      const reason = await eventually(async () =>
        (await watcher.emitWithAck("reasons")).find((r) => r.id === id),
      );
      assert.equal(reason.reason, "client namespace disconnect");
    });
  });

  test(`Node socket.io, ${parserName} parser: connection state recovery after a transport is killed`, async (t) => {
    const server = await nodeServer({
      ...parser.server,
      connectionStateRecovery: { maxDisconnectionDuration: 5000 },
    });
    const pool = clients();
    t.after(async () => {
      pool.closeAll();
      await server.stop();
    });
    const wsSockets = [];
    class TrackedWebSocket extends WebSocket {
      constructor(...args) {
        super(...args);
        wsSockets.push(this);
      }
    }
    const socket = await pool.connect(server.url, {
      ...parser.client,
      transports: ["websocket"],
      WebSocket: TrackedWebSocket,
      reconnectionDelay: 100,
    });
    const id = socket.id;
    const COUNT = 1000;
    const ticks = [];
    const done = new Promise((resolve) =>
      socket.on("tick", (n, offset) => {
        assert.equal(typeof offset, "string");
        ticks.push(n);
        if (n === 100) wsSockets[0].terminate();
        if (n === COUNT) resolve();
      }),
    );
    socket.emit("stream", { count: COUNT });
    assert.equal((await once(socket, "disconnect"))[0], "transport close");
    const [hello] = await once(socket, "hello");
    assert.equal(hello.recovered, true);
    assert.equal(socket.recovered, true);
    assert.equal(socket.id, id);
    await done;
    assert.deepEqual(ticks, Array.from({ length: COUNT }, (_, i) => i + 1));
  });
}
