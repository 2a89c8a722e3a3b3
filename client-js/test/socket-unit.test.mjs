// The Socket.IO layer over a fake engine, with Node's mock timers: no network, no waiting.
// Each test plays the server's side by hand, message by message.
import assert from "node:assert/strict";
import { afterEach, beforeEach, describe, mock, test } from "node:test";
import { FakeManager, client } from "./socket-lib.mjs";

beforeEach(() => mock.timers.enable({ apis: ["setTimeout"] }));
afterEach(() => mock.timers.reset());

const tick = (ms) => mock.timers.tick(ms);

/** A manager with a fake engine and its socket for `nsp`; nothing is open yet. */
function setup(opts = {}, nsp = "/") {
  const manager = new FakeManager("http://server", { randomizationFactor: 0, ...opts });
  const socket = manager.socket(nsp, opts);
  return { manager, socket };
}

/** Opens the fake engine and accepts the socket's CONNECT; returns what was sent before. */
function accept(manager, socket, reply = { sid: "s1" }) {
  const engine = manager.last;
  if (engine.readyState !== "open") engine.open();
  const nsp = socket.nsp === "/" ? "" : socket.nsp + ",";
  engine.receive(`0${nsp}${JSON.stringify(reply)}`);
  return engine.take();
}

/** Records the events of an emitter. */
function record(emitter, ...events) {
  const log = [];
  for (const event of events) emitter.on(event, (...args) => log.push([event, ...args]));
  return log;
}

describe("connecting", () => {
  test("sends CONNECT with the auth object once the engine opens", () => {
    const { manager, socket } = setup({ auth: { token: "t" } }, "/admin");
    const log = record(socket, "connect");
    assert.equal(manager.last.url, "http://server");
    assert.equal(manager.last.options.path, "/socket.io/");
    assert.equal(socket.active, true);
    assert.deepEqual(manager.last.sent, []);
    manager.last.open();
    assert.deepEqual(manager.last.take(), ['0/admin,{"token":"t"}']);
    assert.equal(socket.connected, false);
    manager.last.receive('0/admin,{"sid":"abc"}');
    assert.equal(socket.connected, true);
    assert.equal(socket.disconnected, false);
    assert.equal(socket.id, "abc");
    assert.deepEqual(log, [["connect"]]);
  });

  test("asks an auth function at every connection", () => {
    let calls = 0;
    const { manager } = setup({ auth: (cb) => cb({ n: ++calls }) });
    manager.last.open();
    assert.deepEqual(manager.last.take(), ['0{"n":1}']);
    manager.last.drop();
    tick(1000);
    manager.last.open();
    assert.deepEqual(manager.last.take(), ['0{"n":2}']);
  });

  test("connect_error carries the server's message and data, and the socket stops", () => {
    const { manager, socket } = setup({}, "/private");
    const log = record(socket, "connect_error");
    manager.last.open();
    manager.last.receive('4/private,{"message":"not authorized","data":{"code":4001}}');
    assert.equal(log.length, 1);
    assert.equal(log[0][1].message, "not authorized");
    assert.deepEqual(log[0][1].data, { code: 4001 });
    assert.equal(socket.active, false);
    // The last socket is gone: the connection closes, for good.
    assert.equal(manager.engines[0].readyState, "closed");
    tick(10_000);
    assert.equal(manager.engines.length, 1);
  });

  test("connect_error when the connection cannot open, then reconnection", () => {
    const { manager, socket } = setup();
    const log = record(socket, "connect_error");
    const managerLog = record(manager, "error", "reconnect_attempt", "reconnect_error", "reconnect");
    const event = { type: "error" };
    manager.last.drop("transport error", event);
    assert.equal(log.length, 1);
    assert.equal(log[0][1].message, "transport error");
    assert.equal(log[0][1].description, event, "what the transport reported goes along");
    tick(1000);
    assert.equal(manager.engines.length, 2);
    manager.last.drop("transport error");
    tick(2000);
    manager.last.open();
    assert.deepEqual(
      managerLog.map(([event, arg]) => [event, typeof arg === "object" ? arg.message : arg]),
      [
        ["error", "transport error"],
        ["reconnect_attempt", 1],
        ["error", "transport error"],
        ["reconnect_error", "transport error"],
        ["reconnect_attempt", 2],
        ["reconnect", 2],
      ],
    );
    assert.equal(log.length, 2);
  });
});

describe("emitting", () => {
  test("buffers emits until connected, then sends them in order", () => {
    const { manager, socket } = setup();
    socket.emit("a", 1).emit("b", { x: [2] });
    socket.send("hi");
    assert.equal(socket.sendBuffer.length, 3);
    const sent = accept(manager, socket);
    assert.deepEqual(sent, ["0", '2["a",1]', '2["b",{"x":[2]}]', '2["message","hi"]']);
    assert.equal(socket.sendBuffer.length, 0);
    socket.emit("c");
    assert.deepEqual(manager.last.take(), ['2["c"]']);
  });

  test("refuses reserved event names", () => {
    const { socket } = setup();
    for (const name of ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"]) {
      assert.throws(() => socket.emit(name), /reserved/);
    }
  });

  test("volatile emits are dropped unless they can go now", () => {
    const { manager, socket } = setup();
    socket.volatile.emit("lost");
    accept(manager, socket);
    socket.volatile.emit("kept");
    socket.emit("after");
    assert.deepEqual(manager.last.take(), ['2["kept"]', '2["after"]']);
    manager.last.drop();
    socket.volatile.emit("lost too");
    socket.emit("buffered");
    assert.deepEqual(socket.sendBuffer.map((p) => p.data), [["buffered"]]);
  });

  test("binary arguments go as attachments", () => {
    const { manager, socket } = setup();
    accept(manager, socket);
    socket.emit("up", new Uint8Array([1, 2]), { b: new Uint8Array([3]).buffer });
    const [text, a, b] = manager.last.take();
    assert.equal(text, '52-["up",{"_placeholder":true,"num":0},{"b":{"_placeholder":true,"num":1}}]');
    assert.deepEqual([[...a], [...b]], [[1, 2], [3]]);
  });

  test("onAnyOutgoing sees each event as it is sent", () => {
    const { manager, socket } = setup();
    const seen = [];
    const listener = (...args) => seen.push(args);
    socket.onAnyOutgoing(listener);
    socket.prependAnyOutgoing(() => seen.push("first"));
    socket.emit("a", 1);
    assert.deepEqual(seen, []);
    accept(manager, socket);
    assert.deepEqual(seen, ["first", ["a", 1]]);
    assert.equal(socket.listenersAnyOutgoing().length, 2);
    socket.offAnyOutgoing(listener);
    socket.emit("b");
    assert.deepEqual(seen, ["first", ["a", 1], "first"]);
    socket.offAnyOutgoing();
    assert.deepEqual(socket.listenersAnyOutgoing(), []);
  });
});

describe("receiving", () => {
  test("on, once, off and onAny", () => {
    const { manager, socket } = setup();
    accept(manager, socket);
    const log = [];
    const any = (...args) => log.push(["any", ...args]);
    const on = (...args) => log.push(["on", ...args]);
    socket.onAny(any);
    socket.prependAny((event) => log.push(["first", event]));
    socket.on("news", on);
    socket.once("news", (...args) => log.push(["once", ...args]));
    manager.last.receive('2["news",1,{"a":2}]', '2["news",3]', '2["other"]');
    assert.deepEqual(log, [
      ["first", "news"],
      ["any", "news", 1, { a: 2 }],
      ["on", 1, { a: 2 }],
      ["once", 1, { a: 2 }],
      ["first", "news"],
      ["any", "news", 3],
      ["on", 3],
      ["first", "other"],
      ["any", "other"],
    ]);
    assert.equal(socket.listenersAny().length, 2);
    socket.offAny(any);
    socket.off("news", on);
    log.length = 0;
    manager.last.receive('2["news",4]');
    assert.deepEqual(log, [["first", "news"]]);
    socket.offAny();
    assert.deepEqual(socket.listenersAny(), []);
  });

  test("events that come before the CONNECT reply are handed on after it, before connect", () => {
    const { manager, socket } = setup();
    const log = [];
    socket.on("early", (n) => log.push(n));
    socket.on("connect", () => log.push("connect"));
    manager.last.open();
    manager.last.receive('2["early",1]', '2["early",2]');
    assert.deepEqual(log, []);
    manager.last.receive('0{"sid":"s"}');
    assert.deepEqual(log, [1, 2, "connect"]);
  });

  test("binary events are rebuilt from their attachments", () => {
    const { manager, socket } = setup();
    accept(manager, socket);
    let got;
    socket.on("file", (...args) => (got = args));
    manager.last.receive('51-["file",{"n":{"_placeholder":true,"num":0}}]', new Uint8Array([9, 8]));
    assert.deepEqual(got, [{ n: new Uint8Array([9, 8]) }]);
  });

  test("packets of other namespaces go to their own socket", () => {
    const manager = new FakeManager("http://server", {});
    const root = manager.socket("/");
    const admin = manager.socket("/admin");
    assert.equal(manager.engines.length, 1);
    manager.last.open();
    assert.deepEqual(manager.last.take(), ["0", "0/admin,"]);
    manager.last.receive('0{"sid":"r"}', '0/admin,{"sid":"a"}');
    const log = [];
    root.on("x", (v) => log.push(["root", v]));
    admin.on("x", (v) => log.push(["admin", v]));
    manager.last.receive('2/admin,["x",1]', '2["x",2]', '2/other,["x",3]');
    assert.deepEqual(log, [["admin", 1], ["root", 2]]);
    // Leaving one namespace keeps the connection for the other.
    admin.disconnect();
    assert.deepEqual(manager.last.take(), ["1/admin,"]);
    assert.equal(manager.last.readyState, "open");
    root.disconnect();
    assert.equal(manager.last.readyState, "closed");
  });

  test("a malformed packet closes the connection with parse error, then reconnects", () => {
    const { manager, socket } = setup();
    accept(manager, socket);
    const log = record(socket, "disconnect");
    manager.last.receive('2["broken"');
    assert.deepEqual(log, [["disconnect", "parse error", log[0][2]]]);
    assert.ok(log[0][2] instanceof SyntaxError);
    assert.equal(manager.engines[0].readyState, "closed");
    tick(1000);
    assert.equal(manager.engines.length, 2);
  });
});

describe("acks", () => {
  test("the server's ack calls the callback once", () => {
    const { manager, socket } = setup();
    accept(manager, socket);
    const got = [];
    socket.emit("sum", 1, 2, (...args) => got.push(args));
    socket.emit("other", () => got.push("other"));
    assert.deepEqual(manager.last.take(), ['20["sum",1,2]', '21["other"]']);
    manager.last.receive("30[3,4]", "30[5]", "31[]");
    assert.deepEqual(got, [[3, 4], "other"]);
  });

  test("binary acks are rebuilt", () => {
    const { manager, socket } = setup();
    accept(manager, socket);
    let got;
    socket.emit("get", (...args) => (got = args));
    manager.last.receive('61-0[{"_placeholder":true,"num":0}]', new Uint8Array([1]));
    assert.deepEqual(got, [new Uint8Array([1])]);
  });

  test("answers the server's ack request once", () => {
    const { manager, socket } = setup();
    accept(manager, socket);
    socket.on("question", (n, answer) => {
      assert.equal(n, 1);
      answer("yes", new Uint8Array([2]));
      answer("again");
    });
    manager.last.receive('2/,7["question",1]');
    const [text, bin] = manager.last.take();
    assert.equal(text, '61-7["yes",{"_placeholder":true,"num":0}]');
    assert.deepEqual([...bin], [2]);
    assert.deepEqual(manager.last.take(), []);
  });

  test("timeout(ms): an error first, or the timeout's error", () => {
    const { manager, socket } = setup();
    accept(manager, socket);
    const got = [];
    socket.timeout(100).emit("a", (...args) => got.push(["a", ...args]));
    socket.timeout(100).emit("b", (...args) => got.push(["b", ...args]));
    manager.last.receive('30["ok"]');
    tick(100);
    assert.deepEqual(got[0], ["a", null, "ok"]);
    assert.equal(got[1][0], "b");
    assert.match(got[1][1].message, /timed out/);
    // A late answer is ignored.
    manager.last.receive('31["late"]');
    assert.equal(got.length, 2);
    // The flag applies to one emit only.
    socket.emit("c", (...args) => got.push(["c", ...args]));
    tick(10_000);
    manager.last.receive('32["fine"]');
    assert.deepEqual(got[2], ["c", "fine"]);
  });

  test("emitWithAck resolves with the answer, rejects on timeout", async () => {
    const { manager, socket } = setup();
    accept(manager, socket);
    const answered = socket.emitWithAck("q", 1);
    const timedOut = socket.timeout(50).emitWithAck("q", 2);
    assert.deepEqual(manager.last.take(), ['20["q",1]', '21["q",2]']);
    manager.last.receive('30["a"]');
    tick(50);
    assert.equal(await answered, "a");
    await assert.rejects(timedOut, /timed out/);
  });

  test("ackTimeout: every callback gets an error first", () => {
    const { manager, socket } = setup({ ackTimeout: 200 });
    accept(manager, socket);
    const got = [];
    socket.emit("a", (...args) => got.push(args));
    socket.emit("b", (...args) => got.push(args));
    manager.last.receive('30["ok"]');
    tick(200);
    assert.deepEqual(got[0], [null, "ok"]);
    assert.match(got[1][0].message, /timed out/);
  });

  test("a buffered emit times out and is not sent", () => {
    const { manager, socket } = setup();
    let error;
    socket.timeout(100).emit("late", (err) => (error = err));
    tick(100);
    assert.match(error.message, /timed out/);
    assert.deepEqual(accept(manager, socket), ["0"]);
  });

  test("acks with an error first fail when the connection drops", () => {
    const { manager, socket } = setup();
    accept(manager, socket);
    const got = [];
    socket.timeout(10_000).emit("a", (err) => got.push(err.message));
    const pending = socket.emitWithAck("b").catch((err) => got.push(err.message));
    socket.emit("c", () => got.push("never"));
    manager.last.drop();
    return pending.then(() => {
      assert.deepEqual(got, ["socket has been disconnected", "socket has been disconnected"]);
    });
  });
});

describe("retries", () => {
  test("one emit at a time, sent again on timeout, then the next", () => {
    const { manager, socket } = setup({ retries: 2, ackTimeout: 100 });
    accept(manager, socket);
    const got = [];
    socket.emit("first", 1, (...args) => got.push(["first", ...args]));
    socket.emit("second", (...args) => got.push(["second", ...args]));
    socket.emit("third");
    assert.deepEqual(manager.last.take(), ['20["first",1]']);
    tick(100);
    assert.deepEqual(manager.last.take(), ['21["first",1]']);
    manager.last.receive('31["done"]');
    assert.deepEqual(got, [["first", null, "done"]]);
    assert.deepEqual(manager.last.take(), ['22["second"]']);
    tick(100);
    tick(100);
    assert.deepEqual(manager.last.take(), ['23["second"]', '24["second"]']);
    tick(100);
    assert.equal(got[1][0], "second");
    assert.match(got[1][1].message, /timed out/);
    assert.deepEqual(manager.last.take(), ['25["third"]']);
    // A late ack of a given-up try does nothing.
    manager.last.receive('34["late"]', "35[]");
    assert.equal(got.length, 2);
    assert.deepEqual(manager.last.take(), []);
  });

  test("queued emits wait for the connection, and go again after a reconnection", () => {
    const { manager, socket } = setup({ retries: 3 });
    socket.emit("queued", "x");
    assert.deepEqual(socket.sendBuffer, []);
    const sent = accept(manager, socket);
    assert.deepEqual(sent, ["0", '20["queued","x"]']);
    manager.last.drop();
    tick(1000);
    const again = accept(manager, socket, { sid: "s2" });
    assert.deepEqual(again, ["0", '21["queued","x"]']);
    let done = false;
    socket.emit("next", () => (done = true));
    manager.last.receive("31[]");
    assert.deepEqual(manager.last.take(), ['22["next"]']);
    manager.last.receive("32[]");
    assert.equal(done, true);
  });

  test("volatile emits skip the queue", () => {
    const { manager, socket } = setup({ retries: 1 });
    accept(manager, socket);
    socket.emit("queued");
    socket.volatile.emit("now");
    assert.deepEqual(manager.last.take(), ['20["queued"]', '2["now"]']);
  });
});

describe("disconnection and reconnection", () => {
  test("a lost connection: disconnect with the engine's reason, then reconnection", () => {
    const { manager, socket } = setup();
    accept(manager, socket);
    const log = record(socket, "disconnect", "connect");
    const managerLog = record(manager, "close", "reconnect_attempt", "reconnect", "open");
    manager.last.drop("ping timeout");
    assert.equal(socket.connected, false);
    assert.equal(socket.id, undefined);
    assert.equal(socket.active, true);
    tick(999);
    assert.equal(manager.engines.length, 1);
    tick(1);
    assert.equal(manager.engines.length, 2);
    accept(manager, socket, { sid: "s2" });
    assert.equal(socket.id, "s2");
    assert.deepEqual(log, [["disconnect", "ping timeout", undefined], ["connect"]]);
    assert.deepEqual(managerLog, [
      ["close", "ping timeout", undefined],
      ["reconnect_attempt", 1],
      ["open"],
      ["reconnect", 1],
    ]);
  });

  test("the delays double up to reconnectionDelayMax, then reconnect_failed", () => {
    const { manager } = setup({ reconnectionDelay: 100, reconnectionDelayMax: 500, reconnectionAttempts: 5 });
    const log = record(manager, "reconnect_attempt", "reconnect_failed");
    manager.last.drop("transport error");
    const delays = [];
    let waited = 0;
    while (manager.engines.length < 6 && waited < 10_000) {
      const before = manager.engines.length;
      tick(10);
      waited += 10;
      if (manager.engines.length > before) {
        delays.push(waited);
        waited = 0;
        manager.last.drop("transport error");
      }
    }
    assert.deepEqual(delays, [100, 200, 400, 500, 500]);
    assert.deepEqual(log.at(-1), ["reconnect_failed"]);
    tick(10_000);
    assert.equal(manager.engines.length, 6);
  });

  test("the delays are jittered by randomizationFactor", () => {
    const random = mock.method(Math, "random", () => 0);
    try {
      const { manager } = setup({ reconnectionDelay: 1000, randomizationFactor: 0.5 });
      manager.last.drop("transport error");
      tick(499);
      assert.equal(manager.engines.length, 1);
      tick(1);
      assert.equal(manager.engines.length, 2);
    } finally {
      random.mock.restore();
    }
  });

  test("no reconnection after the server's disconnect, until connect()", () => {
    const { manager, socket } = setup();
    accept(manager, socket);
    const log = record(socket, "disconnect");
    manager.last.receive("1");
    assert.deepEqual(log, [["disconnect", "io server disconnect", undefined]]);
    assert.equal(socket.active, false);
    assert.equal(manager.last.readyState, "closed");
    tick(60_000);
    assert.equal(manager.engines.length, 1);
    socket.connect();
    assert.equal(manager.engines.length, 2);
    accept(manager, socket);
    assert.equal(socket.connected, true);
  });

  test("disconnect(): DISCONNECT, then the connection closes, no reconnection", () => {
    const { manager, socket } = setup();
    accept(manager, socket);
    const log = record(socket, "disconnect");
    const closes = record(manager, "close");
    socket.close();
    assert.deepEqual(manager.engines[0].sent, ["1"]);
    assert.equal(manager.engines[0].readyState, "closed");
    assert.deepEqual(log, [["disconnect", "io client disconnect", undefined]]);
    assert.deepEqual(closes, [["close", "forced close", undefined]]);
    tick(60_000);
    assert.equal(manager.engines.length, 1);
  });

  test("reconnection: false", () => {
    const { manager, socket } = setup({ reconnection: false });
    accept(manager, socket);
    manager.last.drop();
    tick(60_000);
    assert.equal(manager.engines.length, 1);
  });

  test("autoConnect: false waits for connect()", () => {
    const { manager, socket } = setup({ autoConnect: false });
    assert.equal(manager.engines, undefined);
    assert.equal(socket.active, false);
    socket.open();
    assert.equal(manager.engines.length, 1);
    accept(manager, socket);
    assert.equal(socket.connected, true);
  });

  test("back online: tries again at once, from the first delay", () => {
    const listeners = {};
    globalThis.addEventListener = (event, listener) => (listeners[event] = listener);
    globalThis.removeEventListener = (event, listener) => {
      if (listeners[event] === listener) delete listeners[event];
    };
    try {
      const { manager, socket } = setup({ reconnectionDelay: 5000, reconnectionDelayMax: 60_000 });
      accept(manager, socket);
      manager.last.drop();
      tick(5000);
      manager.last.drop("transport error");
      // Waiting 10 s for the second attempt, when the network comes back.
      assert.equal(typeof listeners.online, "function");
      listeners.online();
      tick(0);
      assert.equal(manager.engines.length, 3);
      accept(manager, socket);
      assert.equal(socket.connected, true);
      assert.equal(listeners.online, undefined);
    } finally {
      delete globalThis.addEventListener;
      delete globalThis.removeEventListener;
    }
  });
});

describe("connection state recovery", () => {
  test("sends pid and the last offset again, and tells whether it was recovered", () => {
    const { manager, socket } = setup({ auth: { token: "t" } });
    accept(manager, socket, { sid: "s1", pid: "p1" });
    assert.equal(socket.recovered, false);
    const got = [];
    socket.on("tick", (...args) => got.push(args));
    manager.last.receive('2["tick",1,"offset-1"]', '2["tick",2,"offset-2"]', '2/,5["tick",3]');
    // The offset stays in the arguments, as socket.io-client leaves it.
    assert.deepEqual(got.slice(0, 2), [
      [1, "offset-1"],
      [2, "offset-2"],
    ]);
    manager.last.drop();
    tick(1000);
    manager.last.open();
    assert.deepEqual(manager.last.take(), ['0{"token":"t","pid":"p1","offset":"offset-2"}']);
    manager.last.receive('0{"sid":"s1","pid":"p1"}');
    assert.equal(socket.recovered, true);
    manager.last.drop();
    tick(1000);
    accept(manager, socket, { sid: "s3", pid: "p3" });
    assert.equal(socket.recovered, false);
  });

  test("without a pid nothing is added", () => {
    const { manager, socket } = setup();
    accept(manager, socket);
    manager.last.receive('2["tick","a string"]');
    manager.last.drop();
    tick(1000);
    manager.last.open();
    assert.deepEqual(manager.last.take(), ["0"]);
  });
});

describe("io()", () => {
  test("reads the namespace and query from the URL, and shares managers by host", () => {
    const opts = { autoConnect: false, transports: ["websocket"] };
    const a = client.io("http://127.0.0.1:9/a?x=1", opts);
    const b = client.io("http://127.0.0.1:9/b", opts);
    const again = client.io("http://127.0.0.1:9/a", opts);
    const forced = client.io("http://127.0.0.1:9/c", { ...opts, forceNew: true });
    const single = client.io("http://127.0.0.1:9/d", { ...opts, multiplex: false });
    const other = client.io("127.0.0.1:8", opts);
    assert.equal(a.nsp, "/a");
    assert.equal(b.io, a.io);
    assert.notEqual(again.io, a.io);
    assert.notEqual(forced.io, a.io);
    assert.notEqual(single.io, a.io);
    assert.equal(other.nsp, "/");
    assert.equal(other.io.uri, "https://127.0.0.1:8");
    const ws = client.io("ws://127.0.0.1:9/e", opts);
    assert.equal(ws.io, a.io);
    assert.equal(client.io("wss://127.0.0.1:7", opts).io.uri, "https://127.0.0.1:7");
    assert.equal(a.io.uri, "http://127.0.0.1:9");
    assert.deepEqual(a.io.opts.query, { x: "1" });
    assert.equal(client.default, client.io);
    assert.equal(client.connect, client.io);
  });
});

describe("a connection that fails inside io()", () => {
  test("reports connect_error to listeners added after io() returns", async () => {
    // No EventSource here (none is passed, and Node 20 has none): the only transport cannot
    // even be created, so the engine closes before io() returns.
    const socket = client.io("http://127.0.0.1:9", { forceNew: true, transports: ["sse"], reconnection: false, EventSource: undefined });
    const errors = [];
    socket.on("connect_error", (err) => errors.push(err));
    socket.io.on("error", (err) => errors.push(err));
    await Promise.resolve();
    assert.equal(errors.length, 2);
    assert.equal(socket.connected, false);
  });
});
