// Clusters of servers on one redis-server, a socket.io-client on each server: what one server
// asks reaches the others through Redis. Three Tidings servers; a Tidings server and a Node
// socket.io server with @socket.io/redis-adapter, each asking the other; and two Node servers,
// which shows the harness itself agrees with Node.
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
    const [a, ...others] = await Promise.all(cluster.nodes.map((_, i) => connectTo(i)));
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

  it("fetch-sockets on one node lists the other node's sockets with their data", async () => {
    const a = await connectTo(0);
    const b = await connectTo(1, { auth: { user: "b" }, query: { color: "blue" } });
    assert.deepEqual(await ack(b, "set-data", { user: "b", n: 1 }), ["ok"]);
    assert.deepEqual(await ack(b, "join", "fetched"), [["fetched"]]);

    const [[found]] = await ack(a, "fetch-sockets", { to: ["fetched"] });
    assert.equal(found.id, b.id);
    assert.deepEqual(found.rooms, ["fetched"]);
    assert.deepEqual(found.data, { user: "b", n: 1 });
    assert.deepEqual(found.handshake.auth, { user: "b" });
    assert.equal(found.handshake.query.color, "blue");

    const [all] = await ack(a, "fetch-sockets", {});
    assert.deepEqual(
      all.map((s) => s.id),
      [a.id, b.id].sort(),
    );
    const [others] = await ack(a, "fetch-sockets", { except: ["fetched"] });
    assert.deepEqual(
      others.map((s) => s.id),
      [a.id],
    );
  });

  it("all-rooms on one node includes a room joined on the other", async () => {
    const [a, b] = await Promise.all([connectTo(0), connectTo(1)]);
    await ack(b, "join", ["only-on-b", "also-on-b"]);
    await ack(a, "join", "on-a");
    assert.deepEqual(await ack(a, "all-rooms"), [["also-on-b", "on-a", "only-on-b"]]);
  });

  it("server-side-emit reaches the other node, and its ack comes back", async () => {
    const [a, b] = await Promise.all([connectTo(0), connectTo(1)]);
    assert.deepEqual(await ack(a, "server-side-emit", { event: "ping", data: { x: 1 } }), ["ok"]);
    // One reply from every other server, in the order they came.
    const [error, replies] = await ack(a, "server-side-emit", { event: "ping-ack", data: "q", timeout: 2000 });
    assert.equal(error, null);
    replies.sort(([x], [y]) => x.node.localeCompare(y.node));
    const others = cluster.nodes.slice(1).map(({ name }) => [{ node: name, event: "ping-ack", args: ["q"] }]);
    assert.deepEqual(replies, others);
    assert.deepEqual(await ack(a, "server-side-emit", { event: "no data" }), ["ok"]);
    await ack(a, "server-side-emit", { event: "fence", timeout: 2000 });
    // Both went through A's one Redis connection in order, so B has both by now.
    assert.deepEqual(await ack(b, "server-side-received"), [
      [
        { event: "ping", args: [{ x: 1 }] },
        { event: "ping-ack", args: ["q"] },
        { event: "no data", args: [] },
        { event: "fence", args: [] },
      ],
    ]);
    assert.deepEqual(await ack(a, "server-side-received"), [[]], "no node gets its own");
  });

  it("sockets-join and sockets-leave on one node move a socket of the other", async () => {
    const [a, b] = await Promise.all([connectTo(0), connectTo(1)]);
    assert.deepEqual(await ack(a, "sockets-join", { to: [b.id] }, ["moved", "moved-too"]), ["ok"]);
    // The fetch follows the join on A's Redis connection, so B has moved when it answers.
    const [[fetched]] = await ack(a, "fetch-sockets", { to: [b.id] });
    assert.deepEqual(fetched.rooms, ["moved", "moved-too"]);
    assert.deepEqual(await ack(b, "join", []), [["moved", "moved-too"]]);

    assert.deepEqual(await ack(a, "sockets-leave", { to: ["moved"] }, "moved"), ["ok"]);
    await ack(a, "fetch-sockets", {});
    assert.deepEqual(await ack(b, "join", []), [["moved-too"]]);
  });

  it("broadcast-with-ack on one node collects the acks of the other node's clients", async () => {
    const a = await connectTo(0);
    const [answering, silent] = await Promise.all([connectTo(1), connectTo(1)]);
    new Inbox(answering, "ask", { reply: ([, data]) => [`answer to ${data}`] });
    await Promise.all([ack(answering, "join", "askers"), ack(a, "join", "askers")]);
    const target = { to: ["askers"], event: "ask", timeout: 2000 };
    assert.deepEqual(await ack(a, "broadcast-with-ack", target, "q1"), [
      null,
      [["answer to q1"]],
    ]);

    // A recipient that never acks: the others' acks come with the timeout.
    new Inbox(silent, "ask");
    await ack(silent, "join", "askers");
    assert.deepEqual(await ack(a, "broadcast-with-ack", { ...target, timeout: 300 }, "q2"), [
      { message: "timeout", missing: 1 },
      [["answer to q2"]],
    ]);
  });

  it("disconnect-sockets on one node disconnects a client of the other", async () => {
    const [a, b] = await Promise.all([connectTo(0), connectTo(1)]);
    const gone = nextEvent(b, "disconnect");
    assert.deepEqual(await ack(a, "disconnect-sockets", { to: [b.id] }, false), ["ok"]);
    assert.deepEqual(await gone, ["io server disconnect", undefined]);
    assert.deepEqual(await ack(a, "echo", "still here"), ["still here"]);
  });

  it("broadcasts cross again once Redis was killed and restarted", async () => {
    const [a, b] = await Promise.all([connectTo(0), connectTo(1)]);
    await ack(b, "join", "after-restart");
    const before = cluster.redis.pid;
    await cluster.redis.restart();
    assert.notEqual(cluster.redis.pid, before);

    // The Redis clients reconnect and subscribe again by themselves, in their own time.
    const news = new Inbox(b, "news");
    let sent = 0;
    await eventually(
      async () => {
        await ack(a, "to-room", { to: ["after-restart"], event: "news" }, ++sent);
        await news.first(1, { timeout: 300 });
      },
      { timeout: 15_000 },
    );
    assert.deepEqual(await ack(a, "server-count"), [kinds.length]);
    const [sockets] = await ack(a, "fetch-sockets", { to: ["after-restart"] });
    assert.deepEqual(
      sockets.map((s) => s.id),
      [b.id],
    );

    // A Tidings server told the app of the outage, and that it is over.
    for (const [i, kind] of kinds.entries()) {
      if (kind !== "tidings") continue;
      const socket = i === 0 ? a : i === 1 ? b : await connectTo(i);
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
