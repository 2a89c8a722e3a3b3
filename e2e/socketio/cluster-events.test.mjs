// The testbed's cluster events on a single server, with the official socket.io-client and
// each parser: `node`, `server-count`, `all-rooms`, server-side emits (with and without
// replies), `sockets-join` / `sockets-leave`, `disconnect-sockets`, and `fetch-sockets` with
// the sockets' data (`set-data`) and handshakes. The cluster tests drive the same events on
// several servers; here each has the answer a lone server gives.
//
// Tests that select every socket of a namespace use a dynamic namespace of their own, so
// that the sockets of earlier tests, which may still be going, are not among them.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PARSERS, QUIET_PERIOD, ack, nextEvent, noEvent, useSocketTestbed } from "../lib/socketio.mjs";

let names = 0;
/** A room name no other test uses. */
const freshRoom = (name) => `${name}-${++names}`;
/** A dynamic namespace no other test uses. */
const freshNamespace = () => `/dyn-${1000 + ++names}`;

/** Resolves with the reason of the next `disconnect` of `socket`. */
async function disconnection(socket) {
  const [reason] = await nextEvent(socket, "disconnect");
  return reason;
}

/** Resolves with the socket's rooms (its own left out), as `join` with no room acks them. */
async function roomsOf(socket) {
  const [rooms] = await ack(socket, "join", []);
  return rooms;
}

/** The rooms `all-rooms` acks to `socket`, the rooms of `sockets` (their ids) left out. */
async function joinedRooms(socket, sockets) {
  const ids = new Set(sockets.map(({ id }) => id));
  const [rooms] = await ack(socket, "all-rooms");
  return rooms.filter((room) => !ids.has(room));
}

/** Rejects unless `event` with `args` goes unanswered for a while. */
async function unanswered(socket, event, ...args) {
  await assert.rejects(socket.timeout(QUIET_PERIOD).emitWithAck(event, ...args), `no ack to ${event}`);
}

for (const [parserName, parser] of Object.entries(PARSERS)) {
  describe(`socket.io cluster events on one server (${parserName} parser)`, () => {
    const { server, clients } = useSocketTestbed(
      { ...parser.env, NODE_NAME: "n1" },
      { ...parser.options, transports: ["websocket"] },
    );

    /** `count` sockets connected to namespace `nsp`. */
    function connectMany(count, nsp, options) {
      return Promise.all(Array.from({ length: count }, () => clients.connect(server.url, nsp, options)));
    }

    it("node acks NODE_NAME and the process id", async () => {
      const [socket] = await connectMany(1, "/isolated");
      assert.deepEqual(await ack(socket, "node"), [{ node: "n1", pid: server.pid }]);
    });

    it("server-count is 1", async () => {
      const [main, isolated] = await Promise.all([
        clients.connect(server.url, "/"),
        clients.connect(server.url, "/isolated"),
      ]);
      assert.deepEqual(await ack(main, "server-count"), [1]);
      assert.deepEqual(await ack(isolated, "server-count"), [1]);
    });

    it("all-rooms lists the namespace's rooms, sorted", async () => {
      const nsp = freshNamespace();
      const [a, b] = await connectMany(2, nsp);
      const [red, blue, green] = [freshRoom("red"), freshRoom("blue"), freshRoom("green")];
      await Promise.all([ack(a, "join", [red, blue]), ack(b, "join", [blue, green])]);
      const [all] = await ack(a, "all-rooms");
      assert.deepEqual(all, [...all].sort(), "sorted");
      assert.deepEqual(await joinedRooms(a, [a, b]), [blue, green, red].sort());

      const [other] = await connectMany(1, freshNamespace());
      assert.deepEqual(await joinedRooms(other, [other]), [], "another namespace has rooms of its own");

      await ack(a, "leave", [red, blue]);
      assert.deepEqual(await joinedRooms(b, [a, b]), [blue, green].sort());
    });

    it("server-side-emit without replies acks ok; a server does not receive its own", async () => {
      const [main, isolated] = await Promise.all([
        clients.connect(server.url, "/"),
        clients.connect(server.url, "/isolated"),
      ]);
      const emit = { event: "greet", data: { from: parserName } };
      assert.deepEqual(await ack(main, "server-side-emit", emit), ["ok"]);
      assert.deepEqual(await ack(main, "server-side-emit", { event: "no data" }), ["ok"]);
      assert.deepEqual(await ack(main, "server-side-received"), [[]]);
      assert.deepEqual(await ack(isolated, "server-side-received"), [[]]);
    });

    it("server-side-emit with replies resolves at once with none: no other server", async () => {
      const [socket] = await connectMany(1, "/");
      const started = performance.now();
      const emit = { event: "question", data: [1, 2], timeout: 3_000 };
      assert.deepEqual(await ack(socket, "server-side-emit", emit), [null, []]);
      const waited = performance.now() - started;
      assert.ok(waited < 2_000, `no wait for the timeout (${waited.toFixed(0)} ms)`);
      assert.deepEqual(await ack(socket, "server-side-received"), [[]]);
    });

    it("sockets-join and sockets-leave move the selected sockets, the sender included", async () => {
      const nsp = freshNamespace();
      const [a, b, c] = await connectMany(3, nsp);
      const [red, blue, all] = [freshRoom("red"), freshRoom("blue"), freshRoom("all")];

      // `to` and `except` select; a socket's id is a room.
      const target = { to: [a.id, b.id, c.id], except: [c.id] };
      assert.deepEqual(await ack(a, "sockets-join", target, [red, blue]), ["ok"]);
      assert.deepEqual(await roomsOf(a), [blue, red].sort());
      assert.deepEqual(await roomsOf(b), [blue, red].sort());
      assert.deepEqual(await roomsOf(c), []);

      // No target: every socket of the namespace.
      assert.deepEqual(await ack(c, "sockets-join", {}, all), ["ok"]);
      const [members] = await ack(c, "fetch-sockets", { to: [all] });
      assert.deepEqual(members.map(({ id }) => id), [a.id, b.id, c.id].sort());

      assert.deepEqual(await ack(c, "sockets-leave", { to: [red] }, [red, all]), ["ok"]);
      assert.deepEqual(await roomsOf(a), [blue]);
      assert.deepEqual(await roomsOf(b), [blue]);
      assert.deepEqual(await roomsOf(c), [all]);
      assert.deepEqual(await joinedRooms(c, [a, b, c]), [all, blue].sort());
    });

    it(`disconnect-sockets disconnects the selected sockets: "io server disconnect"`, async () => {
      const nsp = freshNamespace();
      const [a, b, c] = await connectMany(3, nsp);
      const gone = disconnection(b);
      assert.deepEqual(await ack(a, "disconnect-sockets", { to: [b.id] }, false), ["ok"]);
      assert.equal(await gone, "io server disconnect");
      assert.deepEqual(await ack(c, "echo", "still here"), ["still here"]);

      // No target: every socket, the sender too, once it has its ack.
      const bothGone = Promise.all([disconnection(a), disconnection(c)]);
      assert.deepEqual(await ack(a, "disconnect-sockets", {}, false), ["ok"]);
      assert.deepEqual(await bothGone, ["io server disconnect", "io server disconnect"]);
    });

    it("disconnect-sockets with close ends the whole connection of the selected sockets", async () => {
      const nsp = freshNamespace();
      const manager = clients.manager(server.url);
      const [target, sibling] = [
        await clients.connectVia(manager, nsp),
        await clients.connectVia(manager, "/isolated"),
      ];
      const [bystander] = await connectMany(1, nsp);
      const closed = nextEvent(manager.engine, "close");
      const gone = Promise.all([disconnection(target), disconnection(sibling)]);
      assert.deepEqual(await ack(bystander, "disconnect-sockets", { to: [target.id] }, true), ["ok"]);
      // As `close-me`: every namespace of the connection is told first, so the client sees
      // a server disconnect (not "transport close"), then the connection closes.
      assert.deepEqual(await gone, ["io server disconnect", "io server disconnect"]);
      await closed;
      assert.deepEqual(await ack(bystander, "echo", "still here"), ["still here"]);
    });

    it("fetch-sockets gives each socket's data (set-data) and handshake", async () => {
      const nsp = freshNamespace();
      const a = await clients.connect(server.url, nsp, { query: { color: "blue" }, auth: { user: "ada" } });
      const b = await clients.connect(server.url, nsp);
      const data = { score: 3, tags: ["x", "y"], nested: { ok: true } };
      assert.deepEqual(await ack(a, "set-data", data), ["ok"]);
      await ack(a, "join", "room");

      const [sockets] = await ack(b, "fetch-sockets", {});
      const byId = Object.fromEntries(sockets.map((socket) => [socket.id, socket]));
      assert.deepEqual(Object.keys(byId).sort(), [a.id, b.id].sort());
      const { handshake, ...rest } = byId[a.id];
      assert.deepEqual(rest, { id: a.id, rooms: ["room"], data });
      assert.deepEqual(handshake.auth, { user: "ada" });
      assert.equal(handshake.query.color, "blue");
      assert.equal(handshake.query.EIO, "4");
      assert.equal(handshake.query.transport, "websocket");
      assert.equal(byId[b.id].data, null, "no data set");
      assert.equal(byId[b.id].handshake.auth, null, "no auth sent");
      assert.equal(byId[b.id].handshake.query.color, undefined);

      // set-data replaces the data, whatever its shape.
      assert.deepEqual(await ack(a, "set-data", "plain"), ["ok"]);
      const [[again]] = await ack(b, "fetch-sockets", { to: [a.id] });
      assert.equal(again.data, "plain");
    });

    it("malformed arguments get no ack and break nothing", async () => {
      const [socket] = await connectMany(1, freshNamespace());
      await unanswered(socket, "server-side-emit", { data: "no event" });
      await unanswered(socket, "server-side-emit", "not an object");
      await unanswered(socket, "sockets-join", { to: "not a list" }, "room");
      await unanswered(socket, "sockets-leave", {}, 42);
      await unanswered(socket, "disconnect-sockets", {}, "not a bool");
      await unanswered(socket, "fetch-sockets", "not a target");
      await noEvent(socket, "disconnect");
      assert.deepEqual(await ack(socket, "echo", "still here"), ["still here"]);
      assert.deepEqual(await roomsOf(socket), []);
    });
  });
}
