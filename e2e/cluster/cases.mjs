// The cases every cluster passes, whatever carries its messages (one redis-server's pub/sub
// in cluster.test.mjs, a Redis Cluster's sharded pub/sub in sharded.test.mjs): a
// socket.io-client on each server, the first server asks, all the others answer, and every
// case checks the clients of every server.
import { it } from "node:test";
import assert from "node:assert/strict";
import { Inbox, ack, nextEvent } from "../lib/socketio.mjs";

/**
 * Ways to reach the nodes of `cluster` (useCluster's) with `clients`:
 * - `connectTo(i, options)`: a client connected to node `i` (0 is A, 1 is B);
 * - `connectAll(options)`: a client connected to each node, in the nodes' order;
 *   `options(i)` gives node `i`'s;
 * - `idsOf(sockets)`: the ids of `sockets`, sorted (as `fetch-sockets` lists them).
 */
export function reach(cluster, clients) {
  const connectTo = (i, options = {}) => clients.connect(cluster.nodes[i].url, "/", options);
  return {
    connectTo,
    connectAll: (options = () => ({})) =>
      Promise.all(cluster.nodes.map((_, i) => connectTo(i, options(i)))),
    idsOf: (sockets) => sockets.map((socket) => socket.id).sort(),
  };
}

/**
 * Defines the shared cases in the enclosing suite, for a cluster of nodes of `kinds`
 * (`cluster` and `clients` are useCluster's). What depends on the transport comes from
 * `transport`:
 * - `subscriptions(count)`: asserts what Redis shows of `count` servers' subscriptions;
 * - `room`: the room of the room broadcast;
 * - `joined(room, count)`: resolves once the room broadcast can reach `count` servers with
 *   sockets in `room` (when joining subscribes to something in its own time);
 * - `tapRoom(room)`: resolves, before the room broadcast, with `{ check(sender), close() }`:
 *   `check(sender)` asserts how the broadcast of socket `sender` travelled.
 */
export function clusterCases(kinds, { cluster, clients }, transport) {
  const { connectTo, connectAll, idsOf } = reach(cluster, clients);

  it("each node says who it is, and counts the servers", async () => {
    const count = kinds.length;
    for (const [i, node] of cluster.nodes.entries()) {
      const socket = await connectTo(i);
      assert.deepEqual(await ack(socket, "node"), [{ node: node.name, pid: node.pid }]);
      assert.deepEqual(await ack(socket, "server-count"), [count]);
    }
    await transport.subscriptions(count);
  });

  it("a broadcast to a room reaches the room's clients on every other node", async () => {
    const { room } = transport;
    const [a, ...others] = await connectAll();
    for (const other of others) assert.deepEqual(await ack(other, "join", room), [[room]]);
    await transport.joined?.(room, others.length);
    const tap = await transport.tapRoom(room);
    try {
      const inboxes = others.map((other) => new Inbox(other, "news"));
      const target = { to: [room], event: "news" };
      assert.deepEqual(await ack(a, "to-room", target, { n: 1 }), ["ok"]);
      for (const news of inboxes) assert.deepEqual(await news.first(1), [[target, { n: 1 }]]);
      await tap.check(a);
    } finally {
      await tap.close();
    }
  });

  it("fetch-sockets on one node lists the other nodes' sockets with their data", async () => {
    const user = (i) => `user-${i}`;
    const [a, ...others] = await connectAll((i) =>
      i === 0 ? {} : { auth: { user: user(i) }, query: { color: `color-${i}` } },
    );
    for (const [j, other] of others.entries()) {
      assert.deepEqual(await ack(other, "set-data", { user: user(j + 1), n: j + 1 }), ["ok"]);
      assert.deepEqual(await ack(other, "join", "fetched"), [["fetched"]]);
    }

    const [found] = await ack(a, "fetch-sockets", { to: ["fetched"] });
    assert.deepEqual(
      found.map((s) => s.id),
      idsOf(others),
    );
    for (const [j, other] of others.entries()) {
      const i = j + 1;
      const socket = found.find((s) => s.id === other.id);
      assert.deepEqual(socket.rooms, ["fetched"]);
      assert.deepEqual(socket.data, { user: user(i), n: i });
      assert.deepEqual(socket.handshake.auth, { user: user(i) });
      assert.equal(socket.handshake.query.color, `color-${i}`);
    }

    const [all] = await ack(a, "fetch-sockets", {});
    assert.deepEqual(
      all.map((s) => s.id),
      idsOf([a, ...others]),
    );
    const [rest] = await ack(a, "fetch-sockets", { except: ["fetched"] });
    assert.deepEqual(
      rest.map((s) => s.id),
      [a.id],
    );
  });

  it("server-side-emit reaches every other node, and their acks come back", async () => {
    const [a, ...others] = await connectAll();
    assert.deepEqual(await ack(a, "server-side-emit", { event: "ping", data: { x: 1 } }), ["ok"]);
    // One reply from every other server, in the order they came.
    const [error, replies] = await ack(a, "server-side-emit", { event: "ping-ack", data: "q", timeout: 2000 });
    assert.equal(error, null);
    replies.sort(([x], [y]) => x.node.localeCompare(y.node));
    const expected = cluster.nodes
      .slice(1)
      .map(({ name }) => [{ node: name, event: "ping-ack", args: ["q"] }]);
    assert.deepEqual(replies, expected);
    assert.deepEqual(await ack(a, "server-side-emit", { event: "no data" }), ["ok"]);
    await ack(a, "server-side-emit", { event: "fence", timeout: 2000 });
    // They all went through A's one Redis connection in order, and every other node answered
    // the fence, so each has them all by now.
    for (const other of others) {
      assert.deepEqual(await ack(other, "server-side-received"), [
        [
          { event: "ping", args: [{ x: 1 }] },
          { event: "ping-ack", args: ["q"] },
          { event: "no data", args: [] },
          { event: "fence", args: [] },
        ],
      ]);
    }
    assert.deepEqual(await ack(a, "server-side-received"), [[]], "no node gets its own");
  });

  it("sockets-join and sockets-leave on one node move sockets of every other node", async () => {
    const [a, ...others] = await connectAll();
    const ids = others.map((other) => other.id);
    assert.deepEqual(await ack(a, "sockets-join", { to: ids }, ["moved", "moved-too"]), ["ok"]);
    // The fetch follows the join on A's Redis connection, so every node has moved its socket
    // when it answers.
    const [fetched] = await ack(a, "fetch-sockets", { to: ids });
    assert.deepEqual(
      fetched.map((s) => [s.id, s.rooms]),
      idsOf(others).map((id) => [id, ["moved", "moved-too"]]),
    );
    for (const other of others) assert.deepEqual(await ack(other, "join", []), [["moved", "moved-too"]]);

    assert.deepEqual(await ack(a, "sockets-leave", { to: ["moved"] }, "moved"), ["ok"]);
    await ack(a, "fetch-sockets", {});
    for (const other of others) assert.deepEqual(await ack(other, "join", []), [["moved-too"]]);
  });

  it("broadcast-with-ack on one node collects the acks of every other node's clients", async () => {
    const [a, ...answering] = await connectAll();
    for (const socket of answering) {
      new Inbox(socket, "ask", { reply: ([, data]) => [`answer to ${data}`] });
    }
    await Promise.all([a, ...answering].map((socket) => ack(socket, "join", "askers")));
    const target = { to: ["askers"], event: "ask", timeout: 2000 };
    const answers = (q) => answering.map(() => [`answer to ${q}`]);
    assert.deepEqual(await ack(a, "broadcast-with-ack", target, "q1"), [null, answers("q1")]);

    // A recipient that never acks, on the last node: the others' acks come with the timeout.
    const silent = await connectTo(cluster.nodes.length - 1);
    new Inbox(silent, "ask");
    await ack(silent, "join", "askers");
    assert.deepEqual(await ack(a, "broadcast-with-ack", { ...target, timeout: 300 }, "q2"), [
      { message: "timeout", missing: 1 },
      answers("q2"),
    ]);
  });

  it("disconnect-sockets on one node disconnects clients of every other node", async () => {
    const [a, ...others] = await connectAll();
    const gone = others.map((other) => nextEvent(other, "disconnect"));
    const to = others.map((other) => other.id);
    assert.deepEqual(await ack(a, "disconnect-sockets", { to }, false), ["ok"]);
    for (const reason of gone) assert.deepEqual(await reason, ["io server disconnect", undefined]);
    assert.deepEqual(await ack(a, "echo", "still here"), ["still here"]);
  });

  return { connectTo, connectAll, idsOf };
}
