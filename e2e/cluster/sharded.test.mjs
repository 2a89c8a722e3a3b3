// Clusters of servers on one Redis Cluster (three masters), over its sharded pub/sub: Tidings'
// ShardedCluster and Node's `createShardedAdapter` (@socket.io/redis-adapter 8.3.0 over
// node-redis's `createCluster`), each asking the other; three Tidings servers; two Node
// servers, which shows the harness agrees with Node; and a pair in the static subscription
// mode, and one whose servers and clients use the msgpack parser. The cases of cases.mjs (shared with
// cluster.test.mjs), then what is the sharded adapters' own: which channel, and so which
// shard, each broadcast travels on, in the format Node reads. One Redis Cluster serves every
// suite, one after the other.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Inbox, PARSERS, ack } from "../lib/socketio.mjs";
import { ssubscribe } from "../lib/redis.mjs";
import { startRedisCluster } from "../lib/redis-cluster.mjs";
import { clusterCases } from "./cases.mjs";
import { redisClusterMissing, shardedChannel, useCluster } from "./cluster.mjs";

/**
 * The clusters: the nodes' kinds, their environment on top of the Redis Cluster's, and their
 * clients' options.
 */
const CLUSTERS = {
  "a Tidings server asking a Node server": { kinds: ["tidings", "node"] },
  "a Node server asking a Tidings server": { kinds: ["node", "tidings"] },
  "three Tidings servers": { kinds: ["tidings", "tidings", "tidings"] },
  "two Node servers": { kinds: ["node", "node"] },
  "static subscriptions, a Tidings server asking a Node server": {
    kinds: ["tidings", "node"],
    env: { REDIS_SUBSCRIPTION_MODE: "static" },
  },
  "the msgpack parser, a Node server asking a Tidings server": {
    kinds: ["node", "tidings"],
    env: PARSERS.msgpack.env,
    clientOptions: PARSERS.msgpack.options,
  },
};

/** A room whose channel (`socket.io#/#room1#`) is on another shard than the namespace's. */
const ROOM = "room1";

/** How long a subscription may take to show in Redis (ms). */
const SUBSCRIBED_TIMEOUT = 5_000;

/** The Redis Cluster of every suite, started by the first. */
let redisCluster;
let starting;
const sharedRedisCluster = () =>
  (starting ??= startRedisCluster().then((started) => (redisCluster = started)));
after(() => redisCluster?.stop());

/** Resolves once `count` connections subscribe to sharded `channel`. */
async function subscribers(channel, count) {
  const deadline = Date.now() + SUBSCRIBED_TIMEOUT;
  for (;;) {
    const now = await redisCluster.shardSubscribers(channel);
    if (now === count) return;
    if (Date.now() > deadline) throw new Error(`${now} subscribers to ${channel}, not ${count}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Taps sharded `channel` on its node: `{ messages, next(predicate), close() }` (ssubscribe's),
 * where `close()` resolves once the tap no longer counts among the channel's subscribers (it
 * would count as a server on a namespace's channel).
 */
async function tap(channel) {
  const before = await redisCluster.shardSubscribers(channel);
  const tapped = await ssubscribe(await redisCluster.nodeOf(channel), channel);
  return {
    messages: tapped.messages,
    next: (predicate) => tapped.next(predicate),
    async close() {
      tapped.close();
      await subscribers(channel, before);
    },
  };
}

/** A message of a sharded adapter, which is JSON unless it carries binary. */
function decode({ payload }) {
  assert.equal(payload[0], "{".charCodeAt(0), payload.toString("hex"));
  return JSON.parse(payload.toString());
}

for (const [title, { kinds, env = {}, clientOptions = {} }] of Object.entries(CLUSTERS)) describe(title, { skip: redisClusterMissing ?? false }, () => {
  const { cluster, clients } = useCluster(
    kinds.map((kind) => ({ kind, env })),
    { transports: ["websocket"], ...clientOptions },
    { redis: sharedRedisCluster },
  );
  const main = shardedChannel("/");
  const dynamic = env.REDIS_SUBSCRIPTION_MODE !== "static";

  const { connectTo, connectAll } = clusterCases(kinds, { cluster, clients }, {
    async subscriptions(count) {
      assert.equal(await redisCluster.shardSubscribers(main), count);
      for (const nsp of ["/", "/isolated"]) {
        const channel = shardedChannel(nsp);
        assert.equal(await redisCluster.shardSubscribers(channel), count, channel);
        const answers = await redisCluster.shardChannels(`${channel}${"[0-9a-f]".repeat(16)}#`);
        assert.equal(answers.length, count, `answers of ${nsp}: ${answers}`);
      }
    },
    room: ROOM,
    // Each server reads the channel of a room once one of its sockets joined it; none does
    // in the static mode.
    joined: (room, count) => subscribers(`${main}${room}#`, dynamic ? count : 0),
    // A broadcast to one room goes to the room's own channel, on the room's shard; in the
    // static mode to the namespace's.
    async tapRoom(room) {
      const channel = dynamic ? `${main}${room}#` : main;
      assert.notEqual(await redisCluster.nodeOf(`${main}${room}#`), await redisCluster.nodeOf(main));
      const tapped = await tap(channel);
      return {
        // `sender`: the socket that asked, which the broadcast leaves out.
        async check(sender) {
          const message = decode(await tapped.next());
          assert.equal(message.type, 3);
          assert.equal(message.nsp, "/");
          assert.deepEqual(message.data.opts, { rooms: [room], except: [sender.id], flags: {} });
          assert.equal(message.data.requestId, undefined);
        },
        close: () => tapped.close(),
      };
    },
  });

  it("broadcasts to everybody, to all but a room, and volatile ones go through the namespace's channel", async () => {
    const a = await connectTo(0);
    const plain = [];
    const quiet = [];
    for (let i = 1; i < cluster.nodes.length; i++) {
      plain.push(await connectTo(i));
      const socket = await connectTo(i);
      assert.deepEqual(await ack(socket, "join", "quiet"), [["quiet"]]);
      quiet.push(socket);
    }
    const inboxes = [...plain, ...quiet].map((socket) => new Inbox(socket, "news"));
    const [plainNews, quietNews] = [inboxes.slice(0, plain.length), inboxes.slice(plain.length)];
    const tapped = await tap(main);
    try {
      const everybody = { event: "news" };
      const allButQuiet = { except: ["quiet"], event: "news" };
      const volatile = { volatile: true, event: "news" };
      assert.deepEqual(await ack(a, "to-room", everybody, { n: 0 }), ["ok"]);
      assert.deepEqual(await ack(a, "to-room", allButQuiet, { n: 1 }), ["ok"]);
      // A volatile packet is dropped for a socket with packets still to send: once they all
      // came, the sockets are idle.
      await Promise.all(plainNews.map((news) => news.first(2)));
      await Promise.all(quietNews.map((news) => news.first(1)));
      assert.deepEqual(await ack(a, "to-room", volatile, { n: 2 }), ["ok"]);
      for (const news of plainNews) {
        assert.deepEqual(await news.first(3), [
          [everybody, { n: 0 }],
          [allButQuiet, { n: 1 }],
          [volatile, { n: 2 }],
        ]);
      }
      // The second one skipped them: the third came right after the first.
      for (const news of quietNews) {
        assert.deepEqual(await news.first(2), [
          [everybody, { n: 0 }],
          [volatile, { n: 2 }],
        ]);
      }

      await tapped.next(() => tapped.messages.length >= 3);
      const sent = tapped.messages.map(decode);
      const opts = sent.map((message) => message.data.opts);
      // Each leaves the sender out.
      assert.deepEqual(opts, [
        { rooms: [], except: [a.id], flags: {} },
        { rooms: [], except: [a.id, "quiet"], flags: {} },
        { rooms: [], except: [a.id], flags: { volatile: true } },
      ]);
      for (const message of sent) {
        assert.equal(message.type, 3);
        assert.deepEqual(message.data.packet.type, 2);
        assert.equal(message.data.packet.data[0], "news");
      }
    } finally {
      await tapped.close();
    }
  });

  // (The test bed's server-side emits carry JSON only, so binary is tried in broadcasts.)
  it("binary crosses in broadcasts and in their acks, as msgpack", async () => {
    const [a, ...others] = await connectAll();
    const bytes = Buffer.from([0, 1, 2, 0xff]);
    const inboxes = others.map((other) => new Inbox(other, "bin"));
    const tapped = await tap(main);
    try {
      assert.deepEqual(await ack(a, "to-room", { event: "bin" }, { bytes, n: 1 }), ["ok"]);
      for (const bin of inboxes) {
        const [[, data]] = await bin.first(1);
        assert.deepEqual(data, { bytes, n: 1 });
      }
      const message = await tapped.next();
      assert.notEqual(message.payload[0], "{".charCodeAt(0), "msgpack, not JSON");
      assert.ok(message.payload.includes(bytes), message.payload.toString("hex"));
    } finally {
      await tapped.close();
    }

    for (const [i, other] of others.entries()) {
      new Inbox(other, "ask-bin", { reply: () => [Buffer.from([i])] });
    }
    const [error, answers] = await ack(a, "broadcast-with-ack", { event: "ask-bin", timeout: 2000 }, 1);
    assert.equal(error, null);
    assert.deepEqual(
      answers.map(([answer]) => answer[0]).sort(),
      others.map((_, i) => i),
    );
    for (const [answer] of answers) assert.ok(Buffer.isBuffer(answer));
  });

  it("a broadcast to a socket of another node reaches it, through the namespace's channel", async () => {
    const [a, ...others] = await connectAll();
    const [target, ...rest] = others;
    const inboxes = others.map((other) => new Inbox(other, "direct"));
    const tapped = await tap(main);
    try {
      const to = { to: [target.id], event: "direct" };
      assert.deepEqual(await ack(a, "to-room", to, "just you"), ["ok"]);
      assert.deepEqual(await inboxes[0].first(1), [[to, "just you"]]);
      const message = decode(await tapped.next());
      assert.deepEqual(message.data.opts.rooms, [target.id]);
      // Then one to everybody: the others got it, and nothing before it.
      assert.deepEqual(await ack(a, "to-room", { event: "direct" }, "all"), ["ok"]);
      for (const news of inboxes.slice(1)) assert.deepEqual(await news.first(1), [[{ event: "direct" }, "all"]]);
      assert.equal(rest.length, inboxes.length - 1);
    } finally {
      await tapped.close();
    }
  });

  it("all-rooms lists nobody else's rooms: the sharded format cannot ask for them", async () => {
    const sockets = await connectAll();
    for (const [i, socket] of sockets.entries()) await ack(socket, "join", `on-${i}`);
    for (const [i, kind] of kinds.entries()) {
      if (kind !== "tidings") continue;
      assert.deepEqual(await ack(sockets[i], "all-rooms"), [[`on-${i}`]]);
    }
  });

  it("cluster-status says a Tidings server is connected", async () => {
    for (const [i, kind] of kinds.entries()) {
      if (kind !== "tidings") continue;
      const socket = await connectTo(i);
      const [states] = await ack(socket, "cluster-status");
      assert.equal(states.at(-1), "connected", JSON.stringify(states));
    }
  });
});
