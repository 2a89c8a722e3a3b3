// Clusters of servers on one redis-server, a socket.io-client on each server: what one server
// asks reaches the others through Redis. Three Tidings servers; a Tidings server and a Node
// socket.io server with @socket.io/redis-adapter, each asking the other; and two Node servers,
// which shows the harness itself agrees with Node. Every case checks the clients of every
// server of the cluster: the first server asks, all the others answer.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Inbox, ack, nextEvent } from "../lib/socketio.mjs";
import { psubscribe, redisCommand } from "../lib/redis.mjs";
import { eventually, redisMissing, requestChannel, useCluster } from "./cluster.mjs";

const CLUSTERS = {
  "three Tidings servers": ["tidings", "tidings", "tidings"],
  "a Tidings server asking a Node server": ["tidings", "node"],
  "a Node server asking a Tidings server": ["node", "tidings"],
  "two Node servers": ["node", "node"],
};

for (const [title, kinds] of Object.entries(CLUSTERS)) describe(title, { skip: redisMissing ?? false }, () => {
  const { cluster, clients } = useCluster(
    kinds.map((kind) => ({ kind })),
    { transports: ["websocket"] },
  );

  /** A client connected to node `i` (0 is A, 1 is B). */
  const connectTo = (i, options = {}) => clients.connect(cluster.nodes[i].url, "/", options);

  /** A client connected to each node, in the nodes' order; `options(i)` for node `i`'s. */
  const connectAll = (options = () => ({})) =>
    Promise.all(cluster.nodes.map((_, i) => connectTo(i, options(i))));

  /** The ids of `sockets`, sorted (as `fetch-sockets` lists them). */
  const idsOf = (sockets) => sockets.map((socket) => socket.id).sort();

  it("each node says who it is, and counts the servers", async () => {
    const count = kinds.length;
    for (const [i, node] of cluster.nodes.entries()) {
      const socket = await connectTo(i);
      assert.deepEqual(await ack(socket, "node"), [{ node: node.name, pid: node.pid }]);
      assert.deepEqual(await ack(socket, "server-count"), [count]);
    }

    const port = cluster.redis.port;
    assert.deepEqual(await redisCommand(port, "PUBSUB", "NUMSUB", requestChannel("/")), [
      requestChannel("/"),
      count,
    ]);
    const channels = await redisCommand(port, "PUBSUB", "CHANNELS", "socket.io-*");
    for (const nsp of ["/", "/isolated"]) {
      assert.ok(channels.includes(`socket.io-request#${nsp}#`), `${nsp} requests: ${channels}`);
      assert.ok(channels.includes(`socket.io-response#${nsp}#`), `${nsp} responses: ${channels}`);
    }
  });

  it("a broadcast to a room reaches the room's clients on every other node", async () => {
    const [a, ...others] = await connectAll();
    for (const other of others) assert.deepEqual(await ack(other, "join", "news-room"), [["news-room"]]);
    const tap = await psubscribe(cluster.redis.port, "socket.io#/#*");
    try {
      const inboxes = others.map((other) => new Inbox(other, "news"));
      const target = { to: ["news-room"], event: "news" };
      assert.deepEqual(await ack(a, "to-room", target, { n: 1 }), ["ok"]);
      for (const news of inboxes) assert.deepEqual(await news.first(1), [[target, { n: 1 }]]);

      // A broadcast to one room goes to the room's own channel, msgpack-encoded.
      const message = await tap.next((m) => m.channel === "socket.io#/#news-room#");
      assert.ok(message.payload.includes("news-room"), message.payload.toString("hex"));
    } finally {
      tap.close();
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

  it("all-rooms on each node includes the rooms joined on every node", async () => {
    const sockets = await connectAll();
    const rooms = [];
    for (const [i, socket] of sockets.entries()) {
      const own = [`on-${i}`, `also-on-${i}`];
      await ack(socket, "join", own);
      rooms.push(...own);
    }
    rooms.sort();
    for (const socket of sockets) assert.deepEqual(await ack(socket, "all-rooms"), [rooms]);
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

  it("broadcasts cross again once Redis was killed and restarted", async () => {
    const sockets = await connectAll();
    const [a, ...others] = sockets;
    await Promise.all(others.map((other) => ack(other, "join", "after-restart")));
    const before = cluster.redis.pid;
    await cluster.redis.restart();
    assert.notEqual(cluster.redis.pid, before);

    // The Redis clients reconnect and subscribe again by themselves, in their own time.
    const inboxes = others.map((other) => new Inbox(other, "news"));
    let sent = 0;
    await eventually(
      async () => {
        await ack(a, "to-room", { to: ["after-restart"], event: "news" }, ++sent);
        await Promise.all(inboxes.map((news) => news.first(1, { timeout: 300 })));
      },
      { timeout: 15_000 },
    );
    assert.deepEqual(await ack(a, "server-count"), [kinds.length]);
    const [found] = await ack(a, "fetch-sockets", { to: ["after-restart"] });
    assert.deepEqual(
      found.map((s) => s.id),
      idsOf(others),
    );

    // A Tidings server told the app of the outage, and that it is over.
    for (const [i, kind] of kinds.entries()) {
      if (kind !== "tidings") continue;
      const socket = sockets[i];
      const [states] = await eventually(async () => {
        const answer = await ack(socket, "cluster-status");
        assert.equal(answer[0].at(-1), "connected");
        return answer;
      });
      const outage = states.find((state) => state.disconnected);
      assert.ok(outage, `no outage reported: ${JSON.stringify(states)}`);
      assert.equal(typeof outage.disconnected, "string");
      assert.ok(outage.disconnected.length > 0);
    }
  });
});
