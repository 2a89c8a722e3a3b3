// Clusters of servers on one redis-server, a socket.io-client on each server: what one server
// asks reaches the others through Redis. Three Tidings servers; a Tidings server and a Node
// socket.io server with @socket.io/redis-adapter, each asking the other; and two Node servers,
// which shows the harness itself agrees with Node. Every case checks the clients of every
// server of the cluster: the first server asks, all the others answer. The cases that do not
// depend on how Redis carries the messages are in cases.mjs, shared with sharded.test.mjs.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Inbox, ack } from "../lib/socketio.mjs";
import { psubscribe, redisCommand } from "../lib/redis.mjs";
import { clusterCases } from "./cases.mjs";
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

  const { connectAll, idsOf } = clusterCases(kinds, { cluster, clients }, {
    async subscriptions(count) {
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
    },
    room: "news-room",
    // A broadcast to one room goes to the room's own channel, msgpack-encoded.
    async tapRoom(room) {
      const tap = await psubscribe(cluster.redis.port, "socket.io#/#*");
      return {
        async check() {
          const message = await tap.next((m) => m.channel === `socket.io#/#${room}#`);
          assert.ok(message.payload.includes(room), message.payload.toString("hex"));
        },
        close: () => tap.close(),
      };
    },
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
