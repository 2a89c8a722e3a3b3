// Connection state recovery across a cluster of Tidings servers (tidings-redis keeps sessions
// and packets in Redis): a client whose connection to one server is cut, or whose server is
// killed, comes back through another server with its id, rooms and data, and gets every
// packet it missed exactly once and in order, with the official socket.io-client.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Inbox, ack, nextEvent } from "../lib/socketio.mjs";
import { redisCommand } from "../lib/redis.mjs";
import { eventually, redisMissing, useCluster } from "./cluster.mjs";

const RECOVERING = { kind: "tidings", env: { RECOVERY: "60000" } };
const RECONNECTING = { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 200 };
const FEED = { to: ["feed"], event: "feed" };

/** The key of the session with private id `pid` (tidings-redis's default prefix). */
const sessionKey = (pid) => `socket.io:session:${pid}`;

/** Drops the client's TCP connection, as a network failure would; no close frame is sent. */
function cutTransport(socket) {
  socket.io.engine.transport.ws._socket.destroy();
}

/** Makes `socket` reconnect to `url` from now on, as a load balancer would send it elsewhere. */
function redirect(socket, url) {
  socket.io.uri = url;
}

/** Resolves when `socket` connects again, whatever comes before; rejects after 10 s. */
function reconnection(socket) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no reconnection within 10 s")), 10_000);
    socket.once("connect", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

/** Resolves once `list` has `count` items, or rejects after `timeout` ms. */
function lengthReaches(list, count, what, timeout = 20_000) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = () => {
      if (list.length >= count) return resolve();
      if (Date.now() - started > timeout) {
        return reject(new Error(`${list.length} of ${count} ${what} arrived`));
      }
      setTimeout(check, 5);
    };
    check();
  });
}

/** The session kept in Redis for `pid`, decoded (`{ sid, pid, rooms, data, nsp }`), or null. */
async function keptSession(port, pid) {
  const stored = await redisCommand(port, "GET", sessionKey(pid));
  return stored === null ? null : decodeSession(Buffer.from(stored.toString(), "base64"));
}

/** Reads the msgpack map the adapter writes: string keys; strings, arrays, maps and nil. */
function decodeSession(bytes) {
  let at = 0;
  const read = () => {
    const byte = bytes[at++];
    const str = (len) => {
      const text = bytes.subarray(at, at + len).toString();
      at += len;
      return text;
    };
    const items = (len) => Array.from({ length: len }, read);
    const entries = (len) => Object.fromEntries(Array.from({ length: len }, () => [read(), read()]));
    if (byte >= 0xa0 && byte <= 0xbf) return str(byte - 0xa0);
    if (byte >= 0x90 && byte <= 0x9f) return items(byte - 0x90);
    if (byte >= 0x80 && byte <= 0x8f) return entries(byte - 0x80);
    if (byte <= 0x7f) return byte;
    if (byte === 0xc0) return null;
    if (byte === 0xd9) return str(bytes[at++]);
    throw new Error(`msgpack byte 0x${byte.toString(16)} not read here`);
  };
  return read();
}

describe("recovery through another Tidings server", { skip: redisMissing ?? false }, () => {
  const { cluster, clients } = useCluster([RECOVERING, RECOVERING, RECOVERING], {
    transports: ["websocket"],
  });
  const connectTo = (i, options = {}) => clients.connect(cluster.nodes[i].url, "/", options);

  it("a client cut off mid-stream gets every message once, in order, from another server", async () => {
    const [a, b] = cluster.nodes;
    const receiver = clients.socket(a.url, "/", RECONNECTING);
    const ticks = [];
    receiver.on("tick", (n) => ticks.push(n));
    const feed = new Inbox(receiver, "feed");
    const [hello] = await nextEvent(receiver, "hello");
    assert.equal(hello.recovered, false);
    const id = receiver.id;
    assert.deepEqual(await ack(receiver, "join", "feed"), [["feed"]]);
    assert.deepEqual(await ack(receiver, "set-data", { user: "r" }), ["ok"]);
    const sender = await connectTo(2);
    assert.deepEqual(await ack(sender, "to-room", FEED, { n: 0 }), ["ok"]);
    await feed.first(1);

    // Ticks from server A to this socket; the connection is cut while they flow, and the
    // client comes back through server B, while server C's client keeps broadcasting.
    const count = 3_000;
    receiver.emit("stream", { count, everyMs: 1 });
    await lengthReaches(ticks, 300, "ticks");
    redirect(receiver, b.url);
    const reconnected = reconnection(receiver);
    cutTransport(receiver);
    for (let n = 1; n <= 10; n++) {
      assert.deepEqual(await ack(sender, "to-room", FEED, { n }), ["ok"]);
    }
    await reconnected;
    assert.equal(receiver.recovered, true, "the client was recovered");
    assert.equal(receiver.id, id, "with the same id");
    assert.deepEqual(await ack(receiver, "node"), [{ node: b.name, pid: b.pid }]);

    await lengthReaches(ticks, count, "ticks");
    assert.ok(ticks.length === count && ticks.every((n, i) => n === i + 1), "every tick once, in order");
    await lengthReaches(feed.received, 11, "feed broadcasts");
    assert.deepEqual(await ack(sender, "to-room", FEED, { n: 11 }), ["ok"]);
    const all = await feed.first(12);
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(feed.received.length, 12, "no broadcast twice");
    assert.deepEqual(
      all.map(([, data]) => data.n),
      Array.from({ length: 12 }, (_, n) => n),
      "every broadcast, in order",
    );
    // Each carried an offset: the id of its entry in the cluster's stream.
    for (const [, , offset] of all) assert.match(offset, /^\d+-\d+$/);

    // Its rooms and data came along: server C finds it in its room, with its data.
    const [found] = await ack(sender, "fetch-sockets", { to: ["feed"] });
    assert.deepEqual(
      found.map((socket) => [socket.id, socket.data]),
      [[id, { user: "r" }]],
    );
  });

  it("a session is kept in Redis while connected, taken once, and needs a known offset", async () => {
    const [a, b] = cluster.nodes;
    const port = cluster.redis.port;
    const receiver = await connectTo(0, RECONNECTING);
    assert.deepEqual(await ack(receiver, "join", "kept"), [["kept"]]);
    const pid = receiver._pid;
    assert.match(pid, /^[\w-]{20}$/);
    const session = await eventually(async () => {
      const kept = await keptSession(port, pid);
      assert.ok(kept?.rooms.includes("kept"), `rooms kept: ${JSON.stringify(kept)}`);
      return kept;
    });
    assert.deepEqual(session, { sid: receiver.id, pid, rooms: [receiver.id, "kept"], data: null, nsp: "/" });
    const ttl = await redisCommand(port, "PTTL", sessionKey(pid));
    assert.ok(ttl > 60_000, `a connected socket's session outlives the disconnection limit: ${ttl} ms`);

    // An offset the stream never gave: the client gets a new socket, and the session is gone.
    const id = receiver.id;
    receiver._lastOffset = "1-0";
    redirect(receiver, b.url);
    const reconnected = reconnection(receiver);
    cutTransport(receiver);
    await reconnected;
    assert.equal(receiver.recovered, false);
    assert.notEqual(receiver.id, id);
    assert.equal(await redisCommand(port, "EXISTS", sessionKey(pid)), 0);
    assert.notEqual(a.pid, 0);
  });

  it("a client that leaves for good leaves no session behind", async () => {
    const port = cluster.redis.port;
    const socket = await connectTo(1);
    const pid = socket._pid;
    await eventually(async () => assert.equal(await redisCommand(port, "EXISTS", sessionKey(pid)), 1));
    socket.disconnect();
    await eventually(async () => assert.equal(await redisCommand(port, "EXISTS", sessionKey(pid)), 0));
  });
});

describe("recovery after a Tidings server is killed", { skip: redisMissing ?? false }, () => {
  const { cluster, clients } = useCluster([RECOVERING, RECOVERING, RECOVERING], {
    transports: ["websocket"],
  });

  it("its clients come back through another server with what was broadcast meanwhile", async () => {
    const [a, b] = cluster.nodes;
    const receivers = await Promise.all(
      [0, 1, 2].map(() => clients.connect(a.url, "/", RECONNECTING)),
    );
    const feeds = receivers.map((receiver) => new Inbox(receiver, "feed"));
    const ids = receivers.map((receiver) => receiver.id);
    for (const receiver of receivers) assert.deepEqual(await ack(receiver, "join", "feed"), [["feed"]]);
    const sender = await clients.connect(cluster.nodes[2].url, "/");
    assert.deepEqual(await ack(sender, "to-room", FEED, { n: 0 }), ["ok"]);
    await Promise.all(feeds.map((feed) => feed.first(1)));
    // Their sessions (rooms included) reach Redis shortly after they change.
    await eventually(async () => {
      for (const receiver of receivers) {
        const kept = await keptSession(cluster.redis.port, receiver._pid);
        assert.ok(kept?.rooms.includes("feed"), `session of ${receiver.id}: ${JSON.stringify(kept)}`);
      }
    });

    for (const receiver of receivers) redirect(receiver, b.url);
    const reconnected = receivers.map((receiver) => reconnection(receiver));
    await a.exit("SIGKILL");
    for (let n = 1; n <= 20; n++) {
      assert.deepEqual(await ack(sender, "to-room", FEED, { n }), ["ok"]);
    }
    await Promise.all(reconnected);
    assert.deepEqual(await ack(sender, "to-room", FEED, { n: 21 }), ["ok"]);

    for (const [i, receiver] of receivers.entries()) {
      assert.equal(receiver.recovered, true, `client ${i} was recovered`);
      assert.equal(receiver.id, ids[i], `client ${i} kept its id`);
      assert.deepEqual(await ack(receiver, "node"), [{ node: b.name, pid: b.pid }]);
      await lengthReaches(feeds[i].received, 22, `feed broadcasts to client ${i}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
    for (const [i, feed] of feeds.entries()) {
      assert.deepEqual(
        feed.received.map(([, data]) => data.n),
        Array.from({ length: 22 }, (_, n) => n),
        `client ${i}: every broadcast once, in order`,
      );
    }
  });
});

describe("recovery while Redis restarts", { skip: redisMissing ?? false }, () => {
  const { cluster, clients } = useCluster([RECOVERING, RECOVERING], { transports: ["websocket"] });

  it("a server's own deliveries go on through the outage, and recording resumes after", async () => {
    const [a, b] = cluster.nodes;
    const receiver = await clients.connect(a.url, "/");
    const ticks = [];
    const offsets = [];
    receiver.on("tick", (n, offset) => {
      ticks.push(n);
      offsets.push(offset);
    });
    const count = 3_000;
    receiver.emit("stream", { count, everyMs: 1 });
    await lengthReaches(ticks, 300, "ticks");
    await cluster.redis.restart();
    await lengthReaches(ticks, count, "ticks");
    assert.ok(ticks.every((n, i) => n === i + 1), "every tick once, in order");
    assert.match(offsets[0], /^\d+-\d+$/, "recorded before the outage");

    // Once the connections are back, broadcasts cross and are recorded again.
    assert.deepEqual(await ack(receiver, "join", "feed"), [["feed"]]);
    const sender = await clients.connect(b.url, "/");
    const feed = new Inbox(receiver, "feed");
    let sent = 0;
    await eventually(
      async () => {
        const before = feed.received.length;
        await ack(sender, "to-room", FEED, { n: ++sent });
        const [, , offset] = (await feed.first(before + 1, { timeout: 300 })).at(-1);
        assert.match(offset, /^\d+-\d+$/);
      },
      { timeout: 15_000 },
    );
  });
});
