// The client against the Tidings test server (`socketio-testbed`, see the header of
// examples/src/bin/socketio-testbed.rs for its events), over each transport and both parsers.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import WebSocket from "ws";
import { startTidings } from "./lib/servers.mjs";
import { MODES, clients, collect, connected, eventually, msgpack, once } from "./socket-lib.mjs";

const PARSERS = {
  json: { env: {}, options: {} },
  msgpack: { env: { PARSER: "msgpack" }, options: { parser: msgpack.parser } },
};
const TIDINGS_MODES = { ...MODES, sse: { transports: ["sse"] }, "sse then websocket": { transports: ["sse", "websocket"] } };

const bytes = (value) => [...new Uint8Array(value)];

for (const [parserName, parser] of Object.entries(PARSERS)) {
  describe(`Tidings, ${parserName} parser`, () => {
    let server;
    const pool = clients();
    before(async () => (server = await startTidings("socketio-testbed", parser.env)));
    afterEach(() => pool.closeAll());
    after(() => server.stop());

    for (const [modeName, mode] of Object.entries(TIDINGS_MODES)) {
      test(`${modeName}: connect, events and acks both ways, binary both ways`, async () => {
        const socket = pool.open(server.url, { ...mode, ...parser.options });
        // Emitted before the connection: buffered, sent once connected.
        const backs = collect(socket, "emit-back", 2);
        socket.emit("emit-back", "buffered", { n: 1 });
        const [hello] = await once(socket, "hello");
        assert.equal(socket.connected, true);
        assert.equal(hello.id, socket.id);
        assert.deepEqual({ nsp: hello.nsp, recovered: hello.recovered }, { nsp: "/", recovered: false });

        assert.deepEqual(await socket.emitWithAck("echo", "a", 1, [true, null], { x: "y" }), "a");
        const echoed = await new Promise((resolve) => socket.emit("echo", "a", 1, { x: "y" }, (...args) => resolve(args)));
        assert.deepEqual(echoed, ["a", 1, { x: "y" }]);
        assert.equal(await socket.emitWithAck("sum", 2, 40), 42);

        socket.emit("emit-back", new Uint8Array([1, 2, 3]), { nested: [new Uint8Array([4]).buffer] });
        const [[first, firstData], [bin, nested]] = await backs;
        assert.deepEqual([first, firstData], ["buffered", { n: 1 }]);
        assert.ok(bin instanceof Uint8Array);
        assert.deepEqual(bytes(bin), [1, 2, 3]);
        assert.deepEqual(bytes(nested.nested[0]), [4]);

        const reply = await socket.emitWithAck("upload", {
          name: "f",
          content: new Uint8Array([1, 2, 3]),
          parts: [new Uint8Array([4]), new Uint8Array([5, 6]).buffer],
          meta: { thumb: Buffer.from([9]) },
        });
        assert.equal(reply.name, "f");
        assert.deepEqual(reply.sizes, [3, 1, 2]);
        assert.deepEqual(bytes(reply.reversed), [3, 2, 1]);
        assert.deepEqual(bytes(reply.nested.list[0]), [4, 5, 6]);
        assert.deepEqual(bytes(reply.nested.thumb), [9]);

        // The server asks, the client answers.
        socket.on("ask", (target, data, answer) => answer("answer to", data, new Uint8Array([7])));
        // `emitWithAck` resolves with the first argument: the server's error, `null`.
        assert.equal(await socket.emitWithAck("server-ack", { event: "ask", timeout: 2000 }, "q"), null);
        const [err, args] = await new Promise((resolve) =>
          socket.emit("server-ack", { event: "ask", timeout: 2000 }, "q2", (...a) => resolve(a)),
        );
        assert.equal(err, null);
        assert.deepEqual(args.slice(0, 2), ["answer to", "q2"]);
        assert.deepEqual(bytes(args[2]), [7]);

        const whoami = await socket.emitWithAck("whoami");
        assert.equal(whoami.id, socket.id);
        if (mode.transports.length === 1) assert.equal(whoami.transport, mode.transports[0]);
      });
    }

    test("on, once, off, onAny, prependAny, offAny, onAnyOutgoing", async () => {
      const socket = await pool.connect(server.url, { ...parser.options, transports: ["websocket"] });
      const log = [];
      const onAny = (event, ...args) => log.push(["any", event, ...args]);
      socket.onAny(onAny);
      socket.prependAny((event) => log.push(["first", event]));
      socket.onAnyOutgoing((event, ...args) => log.push(["out", event, ...args]));
      const on = (n) => log.push(["on", n]);
      socket.on("emit-back", on);
      socket.once("emit-back", (n) => log.push(["once", n]));
      socket.emit("emit-back", 1);
      await once(socket, "emit-back");
      socket.off("emit-back", on);
      socket.offAny(onAny);
      socket.emit("emit-back", 2);
      await once(socket, "emit-back");
      assert.deepEqual(log, [
        ["out", "emit-back", 1],
        ["first", "emit-back"],
        ["any", "emit-back", 1],
        ["on", 1],
        ["once", 1],
        ["out", "emit-back", 2],
        ["first", "emit-back"],
      ]);
    });

    test("timeout().emit and timeout().emitWithAck fail when no ack comes", async () => {
      const socket = await pool.connect(server.url, { ...parser.options, transports: ["websocket"] });
      const started = Date.now();
      // No handler takes `nobody`, so the server sends no ack.
      await assert.rejects(socket.timeout(200).emitWithAck("nobody", 1), /timed out/);
      assert.ok(Date.now() - started >= 190);
      const [err] = await new Promise((resolve) => socket.timeout(100).emit("nobody", (...a) => resolve(a)));
      assert.match(err.message, /timed out/);
      // A handled event is acked in time: `(null, ...args)`.
      const ok = await new Promise((resolve) => socket.timeout(2000).emit("sum", 1, 2, (...a) => resolve(a)));
      assert.deepEqual(ok, [null, 3]);
    });

    test("volatile emits are dropped while disconnected; buffered ones are not", async () => {
      const socket = pool.open(server.url, { ...parser.options, transports: ["websocket"], autoConnect: false });
      socket.volatile.emit("emit-back", "volatile");
      socket.emit("emit-back", "buffered");
      socket.connect();
      const got = [];
      socket.on("emit-back", (value) => got.push(value));
      await connected(socket);
      socket.volatile.emit("emit-back", "volatile while connected");
      await socket.emitWithAck("echo", "barrier");
      assert.deepEqual(got, ["buffered", "volatile while connected"]);
    });

    test("auth object and auth function; connect_error with the middleware's data", async () => {
      const object = await pool.connect(server.url + "/private", {
        ...parser.options,
        transports: ["websocket"],
        auth: { token: "secret", user: "ann" },
      });
      assert.deepEqual((await object.emitWithAck("whoami")).auth, { token: "secret", user: "ann" });

      let asked = 0;
      const fn = await pool.connect(server.url + "/private", {
        ...parser.options,
        transports: ["polling"],
        auth: (cb) => setTimeout(() => cb({ token: "secret", n: ++asked }), 10),
      });
      assert.deepEqual((await fn.emitWithAck("whoami")).auth, { token: "secret", n: 1 });

      const refused = pool.open(server.url + "/private", { ...parser.options, transports: ["websocket"], auth: { token: "no" } });
      const [err] = await once(refused, "connect_error");
      assert.equal(err.message, "not authorized");
      assert.deepEqual(err.data, { reason: "a token is needed", code: 4001 });
      assert.equal(refused.active, false);
      assert.equal(refused.connected, false);
      // A new token, and connect() again.
      refused.auth = { token: "secret" };
      refused.connect();
      await connected(refused);
    });

    test("namespaces share one connection; dynamic and unknown namespaces", async () => {
      const opts = { ...parser.options, transports: ["websocket"], multiplex: true };
      const main = pool.open(server.url, opts);
      const isolated = pool.open(server.url + "/isolated", opts);
      const dynamic = pool.open(server.url + "/dyn-42", opts);
      assert.equal(isolated.io, main.io);
      assert.equal(dynamic.io, main.io);
      await Promise.all([connected(main), connected(isolated), connected(dynamic)]);
      const [a, b, c] = await Promise.all([main, isolated, dynamic].map((s) => s.emitWithAck("whoami")));
      assert.deepEqual([a.nsp, b.nsp, c.nsp], ["/", "/isolated", "/dyn-42"]);
      // One handshake: the same connection time.
      assert.equal(a.since, b.since);
      assert.equal(a.since, c.since);
      const stats = await main.emitWithAck("stats");
      assert.equal(stats.sessions, 0, "no session but this one");

      const unlucky = pool.open(server.url + "/dyn-13", opts);
      assert.equal((await once(unlucky, "connect_error"))[0].message, "unlucky");
      const unknown = pool.open(server.url + "/nope", opts);
      assert.equal((await once(unknown, "connect_error"))[0].message, "Invalid namespace");
      // The others are still there.
      assert.equal(await isolated.emitWithAck("sum", 1, 1), 2);

      // Leaving one namespace leaves the others connected.
      isolated.disconnect();
      assert.equal(await main.emitWithAck("sum", 2, 2), 4);
      const reason = await eventually(async () => (await main.emitWithAck("reasons")).find((r) => r.id === b.id));
      assert.equal(reason.reason, "client namespace disconnect");
    });

    test("rooms, broadcasts, and broadcasts with acks", async () => {
      const opts = { ...parser.options, transports: ["websocket"] };
      const [alice, bob] = await Promise.all([pool.connect(server.url, opts), pool.connect(server.url, opts)]);
      assert.deepEqual(await alice.emitWithAck("join", "r"), ["r"]);
      const news = once(alice, "news");
      assert.equal(await bob.emitWithAck("to-room", { to: ["r"], event: "news" }, { text: "hi" }), "ok");
      const [target, data] = await news;
      assert.deepEqual([target.event, data], ["news", { text: "hi" }]);

      alice.on("poll", (target, data, answer) => answer("yes", data));
      const [err, responses] = await new Promise((resolve) =>
        bob.emit("broadcast-with-ack", { to: ["r"], event: "poll", timeout: 2000 }, 5, (...a) => resolve(a)),
      );
      assert.equal(err, null);
      assert.deepEqual(responses, [["yes", 5]]);
    });

    test("disconnect reasons: server, client, transport; no reconnection after the server's", async () => {
      let lastWebSocket;
      class TrackedWebSocket extends WebSocket {
        constructor(...args) {
          super(...args);
          lastWebSocket = this;
        }
      }
      const opts = {
        ...parser.options,
        transports: ["websocket"],
        WebSocket: TrackedWebSocket,
        reconnectionDelay: 50,
        reconnectionDelayMax: 100,
      };
      const socket = await pool.connect(server.url, opts);
      const attempts = [];
      socket.io.on("reconnect_attempt", (n) => attempts.push(n));
      socket.emit("disconnect-me");
      assert.deepEqual(await once(socket, "disconnect"), ["io server disconnect", undefined]);
      assert.equal(socket.active, false);
      // Room for several attempts, had there been any.
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.deepEqual(attempts, []);
      assert.equal(socket.io.engine, undefined);
      socket.connect();
      await connected(socket);

      // The server closes the connection (`socket.close()`): every namespace is told, as with
      // Node's `disconnect(true)`.
      const isolated = socket.io.socket("/isolated");
      await connected(isolated);
      const both = Promise.all([once(socket, "disconnect"), once(isolated, "disconnect")]);
      isolated.emit("close-me");
      assert.deepEqual((await both).map(([reason]) => reason), ["io server disconnect", "io server disconnect"]);
      assert.equal(socket.active || isolated.active, false);
      socket.connect();
      await connected(socket);

      // The connection is lost: the client reconnects.
      const id = socket.id;
      lastWebSocket.terminate();
      assert.equal((await once(socket, "disconnect"))[0], "transport close");
      await once(socket.io, "reconnect");
      await connected(socket);
      assert.notEqual(socket.id, id);

      // The client leaves.
      const other = await pool.connect(server.url, opts);
      const leftId = socket.id;
      socket.disconnect();
      assert.equal(socket.connected, false);
      const reason = await eventually(async () =>
        (await other.emitWithAck("reasons")).find((r) => r.id === leftId),
      );
      assert.equal(reason.reason, "client namespace disconnect");
    });

    test("ping timeout when the server stops answering, then reconnection", async () => {
      const socket = await pool.connect(server.url, { ...parser.options, transports: ["websocket"], reconnectionDelay: 100 });
      server.signal("SIGSTOP");
      try {
        const [reason] = await once(socket, "disconnect", 3000);
        assert.equal(reason, "ping timeout");
      } finally {
        server.signal("SIGCONT");
      }
      await once(socket, "connect", 5000);
      assert.equal(await socket.emitWithAck("sum", 1, 2), 3);
    });
  });
}

describe("Tidings, connection state recovery", () => {
  let server;
  const pool = clients();
  before(async () => (server = await startTidings("socketio-testbed", { RECOVERY: "5000" })));
  afterEach(() => pool.closeAll());
  after(() => server.stop());

  for (const [parserName, parser] of Object.entries(PARSERS)) {
    test(`a transport killed mid-stream: every tick once, in order, and recovered (${parserName})`, async (t) => {
      if (parserName === "msgpack") {
        // The recovery server speaks JSON; msgpack recovery gets its own server.
        const msgpackServer = await startTidings("socketio-testbed", { RECOVERY: "5000", ...parser.env });
        t.after(() => msgpackServer.stop());
        return recoveryCase(msgpackServer, parser.options);
      }
      return recoveryCase(server, parser.options);
    });
  }

  async function recoveryCase(server, parserOptions) {
    const wsSockets = [];
    class TrackedWebSocket extends WebSocket {
      constructor(...args) {
        super(...args);
        wsSockets.push(this);
      }
    }
    const socket = pool.open(server.url, {
      ...parserOptions,
      transports: ["websocket"],
      WebSocket: TrackedWebSocket,
      reconnectionDelay: 100,
    });
    await connected(socket);
    const id = socket.id;
    const COUNT = 3000;
    const ticks = [];
    const offsets = [];
    let killed = false;
    const done = new Promise((resolve) =>
      socket.on("tick", (n, offset) => {
        ticks.push(n);
        offsets.push(offset);
        if (n === 300 && !killed) {
          killed = true;
          // Drop the TCP connection without a close frame, as a lost network would.
          wsSockets[0].terminate();
        }
        if (n === COUNT) resolve();
      }),
    );
    socket.emit("stream", { count: COUNT });
    const [reason] = await once(socket, "disconnect");
    assert.equal(reason, "transport close");
    const [hello] = await once(socket, "hello");
    assert.equal(socket.recovered, true);
    assert.equal(socket.id, id);
    assert.deepEqual(hello, { id, nsp: "/", recovered: true });
    await done;
    assert.equal(wsSockets.length, 2);
    assert.deepEqual(ticks, Array.from({ length: COUNT }, (_, i) => i + 1));
    assert.ok(offsets.every((offset) => typeof offset === "string"));
    assert.equal(new Set(offsets).size, COUNT);
  }
});

describe("Tidings, reconnection with backoff", () => {
  const pool = clients();
  afterEach(() => pool.closeAll());

  test("after the server is killed and restarted: growing, jittered delays; buffered emits once", async (t) => {
    let server = await startTidings("socketio-testbed");
    t.after(() => server.stop());
    const socket = await pool.connect(server.url, {
      transports: ["websocket"],
      reconnectionDelay: 100,
      reconnectionDelayMax: 1600,
      randomizationFactor: 0.5,
    });
    const firstId = socket.id;
    const attempts = [];
    socket.io.on("reconnect_attempt", (n) => attempts.push([n, performance.now()]));
    const errors = [];
    socket.io.on("reconnect_error", (err) => errors.push(err));
    const down = performance.now();
    const disconnected = once(socket, "disconnect");
    await server.exit("SIGKILL");
    assert.equal((await disconnected)[0], "transport close");
    // Offline: buffered.
    socket.emit("emit-back", "offline", 1);
    socket.emit("emit-back", "offline", 2);
    assert.equal(socket.sendBuffer.length, 2);
    // Five attempts fail: 100, 200, 400, 800, 1600 ms nominal (each ±50%).
    while (attempts.length < 5) await once(socket.io, "reconnect_attempt", 5000);
    server = await startTidings("socketio-testbed", { PORT: String(new URL(socket.io.uri).port) });
    const backs = collect(socket, "emit-back", 2, 10_000);
    const [attempt] = await once(socket.io, "reconnect", 10_000);
    assert.ok(attempt >= 6, `reconnected at attempt ${attempt}`);
    await connected(socket);
    assert.notEqual(socket.id, firstId);
    assert.deepEqual((await backs).map((args) => args.join(" ")), ["offline 1", "offline 2"]);
    // Once each: nothing more comes before an ack sent after them.
    const more = [];
    socket.on("emit-back", (...args) => more.push(args));
    await socket.emitWithAck("echo", "barrier");
    assert.deepEqual(more, []);

    assert.ok(errors.length >= 5);
    const times = [down, ...attempts.map(([, time]) => time)];
    const gaps = attempts.map(([n], i) => [n, times[i + 1] - times[i]]);
    for (const [n, gap] of gaps.slice(1, 5)) {
      const nominal = Math.min(1600, 100 * 2 ** (n - 1));
      assert.ok(gap >= nominal * 0.5 - 5 && gap <= nominal * 1.5 + 100, `attempt ${n}: ${gap} ms for ${nominal}`);
    }
    const [, g2] = gaps[1];
    const [, g5] = gaps[4];
    assert.ok(g5 > g2, `delays grow: ${gaps.map(([, g]) => Math.round(g))}`);
    // Jitter: the delays are not their nominal values.
    const off = gaps.slice(1, 5).filter(([n, gap]) => Math.abs(gap / Math.min(1600, 100 * 2 ** (n - 1)) - 1) > 0.05);
    assert.ok(off.length > 0, `jittered: ${gaps.map(([, g]) => Math.round(g))}`);
  });
});
