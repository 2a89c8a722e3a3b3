// Three Tidings nodes on one redis-server behind a real nginx, configured by the file
// examples/cluster and docs/deployment.md show (examples/cluster/nginx.conf.template), and
// the official socket.io-client going through nginx only.
//
// nginx sends a client to a node by a hash of the client's address, so each client here
// connects from a loopback address of its own choosing (127.0.0.2, 127.0.0.3, ...): the
// suite first finds, for every node, an address nginx sends there.
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  Clients,
  Inbox,
  MODES,
  ack,
  connected,
  nextEvent,
  upgraded,
} from "../lib/socketio.mjs";
import { SseClient } from "../lib/sse.mjs";
import { fromAddress, nginxMissing, startNginx } from "../lib/nginx.mjs";
import { eventually, redisMissing, startCluster } from "./cluster.mjs";

/** How long a node keeps a lost client's state for its return (ms). */
const RECOVERY = "60000";

/** How long clients may take to notice their node died and connect again (ms). */
const RECONNECT_TIMEOUT = 15_000;

const skip = redisMissing ?? nginxMissing ?? false;

/**
 * Starts a redis-server, three `socketio-testbed` nodes (A, B, C) with connection state
 * recovery on, and nginx in front of them. Resolves with `{ cluster, nginx, addresses, stop() }`:
 * `addresses` maps each node's name to a loopback address whose clients nginx sends there.
 */
async function startBed() {
  const cluster = await startCluster(
    ["A", "B", "C"].map((name) => ({ kind: "tidings", name, env: { RECOVERY } })),
  );
  let nginx;
  try {
    nginx = await startNginx(cluster.nodes.map((node) => node.port));
    const addresses = await addressesOf(nginx.url, cluster.nodes);
    return {
      cluster,
      nginx,
      addresses,
      async stop() {
        await nginx.stop();
        await cluster.stop();
      },
    };
  } catch (error) {
    await nginx?.stop();
    await cluster.stop();
    throw error;
  }
}

/**
 * Connects through nginx from 127.0.0.2, 127.0.0.3, ... until every one of `nodes` got a
 * client, and resolves with a Map of node name to the first address that reached it.
 */
async function addressesOf(url, nodes) {
  const probes = new Clients({ transports: ["websocket"] });
  const found = new Map();
  try {
    for (let last = 2; last < 255 && found.size < nodes.length; last++) {
      const address = `127.0.0.${last}`;
      const socket = await probes.connect(url, "/", fromAddress(address));
      const [{ node }] = await ack(socket, "node");
      if (!found.has(node)) found.set(node, address);
      socket.disconnect();
    }
  } finally {
    probes.closeAll();
  }
  assert.equal(found.size, nodes.length, `nginx sent no address to some node: ${[...found]}`);
  return found;
}

/** Resolves once `socket` lost its connection and is connected again. */
function reconnected(socket, timeout = RECONNECT_TIMEOUT) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reconnection within ${timeout} ms`)), timeout);
    socket.once("disconnect", () => {
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  });
}

/** What `to-room` makes the test bed send: `(target, data)`. */
const sent = (target, data) => [target, data];

/**
 * The arguments of received events without the offset that connection state recovery adds
 * as the last one (socket.io-client hands it on to the listeners).
 */
const withoutOffsets = (events) => events.map((args) => args.slice(0, 2));

describe("three Tidings nodes behind nginx", { skip }, () => {
  const clients = new Clients();
  let bed;
  before(async () => {
    bed = await startBed();
  });
  afterEach(() => clients.closeAll());
  after(() => bed?.stop());

  for (const [mode, transports] of Object.entries(MODES)) {
    it(`${mode}: each client stays on its node, and broadcasts reach the clients of every node`, async () => {
      const { cluster, nginx, addresses } = bed;
      const sockets = await Promise.all(
        cluster.nodes.map((node) =>
          clients.connect(nginx.url, "/", { transports, ...fromAddress(addresses.get(node.name)) }),
        ),
      );
      const drops = [];
      for (const socket of sockets) socket.on("disconnect", (reason) => drops.push(reason));

      // Every request of a session reaches the node that made it: another node would not
      // know the session and end it.
      for (const [i, node] of cluster.nodes.entries()) {
        for (let n = 0; n < 5; n++) {
          assert.deepEqual(await ack(sockets[i], "node"), [{ node: node.name, pid: node.pid }]);
        }
        const [whoami] = await ack(sockets[i], "whoami");
        assert.equal(whoami.id, sockets[i].id);
        assert.equal(whoami.transport, transports.at(-1));
      }

      await Promise.all(sockets.map((socket) => ack(socket, "join", "everyone")));
      const inboxes = sockets.map((socket) => new Inbox(socket, "news"));
      const target = { to: ["everyone"], event: "news", includeSelf: true };
      for (const [i, socket] of sockets.entries()) {
        assert.deepEqual(await ack(socket, "to-room", target, { from: i }), ["ok"]);
      }
      for (const inbox of inboxes) {
        const news = withoutOffsets(await inbox.first(sockets.length));
        // Those from other nodes come through Redis, their own node's directly: the order
        // between the two is not fixed.
        news.sort(([, x], [, y]) => x.from - y.from);
        assert.deepEqual(
          news,
          sockets.map((_, i) => sent(target, { from: i })),
        );
      }
      assert.deepEqual(drops, [], "no session was lost");
    });
  }

  it("SSE: the event stream and its POSTs go through nginx, unbuffered", async () => {
    const client = await SseClient.open(bed.nginx.url, { path: "/socket.io/" });
    try {
      assert.match(client.response.headers.get("content-type"), /^text\/event-stream/);
      // POSTs reach the node that holds the stream, or it would answer 400.
      assert.equal((await client.post("40")).status, 200);
      await client.until((packet) => packet.startsWith("40{"), "the CONNECT reply");
      await client.post('421["echo","through nginx"]');
      await client.until((packet) => packet === '431["through nginx"]', "the ack");

      // Ticks 400 ms apart arrive 400 ms apart, while the stream goes on: a buffering proxy
      // would hold them back until its buffer filled or the response ended.
      const start = Date.now();
      await client.post('42["stream",{"count":3,"everyMs":400}]');
      const arrivals = [];
      for (let n = 1; n <= 3; n++) {
        // With recovery on, the packet ends with its offset.
        await client.until((packet) => packet.startsWith(`42["tick",${n},`), `tick ${n}`);
        arrivals.push(Date.now() - start);
      }
      assert.ok(arrivals[2] - arrivals[0] >= 400, `ticks arrived at ${arrivals} ms`);
    } finally {
      client.close();
    }
  });
});

describe("a node of three behind nginx goes away", { skip }, () => {
  const clients = new Clients();
  let bed;
  // Each test stops a node: each gets a cluster of its own.
  afterEach(async () => {
    clients.closeAll();
    await bed?.stop();
    bed = null;
  });

  /**
   * The clients of node B through nginx, one per transport mode (`options` on top), and a
   * client of node A that broadcasts to them.
   */
  async function clientsOfB(options) {
    bed = await startBed();
    const { cluster, nginx, addresses } = bed;
    const [a, b] = cluster.nodes;
    const victims = await Promise.all(
      Object.values(MODES).map((transports) =>
        clients.connect(nginx.url, "/", {
          transports,
          ...fromAddress(addresses.get(b.name)),
          ...options,
        }),
      ),
    );
    for (const socket of victims) {
      assert.deepEqual(await ack(socket, "node"), [{ node: b.name, pid: b.pid }]);
    }
    const sender = await clients.connect(nginx.url, "/", {
      transports: ["websocket"],
      ...fromAddress(addresses.get(a.name)),
    });
    return { node: b, victims, sender };
  }

  it("its clients reconnect through nginx to another node, and broadcasts reach them", async () => {
    const { node, victims, sender } = await clientsOfB({
      reconnection: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 300,
    });
    const back = victims.map((socket) => reconnected(socket));
    await node.exit("SIGKILL");
    await Promise.all(back);

    const landed = [];
    for (const socket of victims) {
      await connected(socket);
      const [{ node: now }] = await ack(socket, "node");
      assert.notEqual(now, node.name);
      landed.push(now);
    }
    // The address that hashed to the dead node hashes to one other node for every request.
    assert.equal(new Set(landed).size, 1, `clients of one address on ${landed}`);

    const drops = [];
    for (const socket of victims) socket.on("disconnect", (reason) => drops.push(reason));
    await Promise.all(victims.map((socket) => ack(socket, "join", "survivors")));
    const inboxes = victims.map((socket) => new Inbox(socket, "news"));
    const target = { to: ["survivors"], event: "news" };
    assert.deepEqual(await ack(sender, "to-room", target, "after"), ["ok"]);
    for (const inbox of inboxes) {
      assert.deepEqual(withoutOffsets(await inbox.first(1)), [sent(target, "after")]);
    }
    await eventually(async () => assert.deepEqual(await ack(sender, "server-count"), [2]));
    assert.deepEqual(drops, [], "no session was lost after the move");
  });

  it("while a node shuts down, nginx sends its new clients to another node", async () => {
    bed = await startBed();
    const { cluster, nginx, addresses } = bed;
    const b = cluster.nodes[1];
    // A long-polling session that never polls again holds B in its graceful shutdown (until
    // the session times out, 3.3 s later).
    const handshake = () => fetch(`${b.url}/socket.io/?EIO=4&transport=polling`);
    assert.equal((await handshake()).status, 200);
    process.kill(b.pid, "SIGTERM");
    await eventually(async () => assert.equal((await handshake()).status, 503));

    const from = fromAddress(addresses.get(b.name));
    for (const transports of Object.values(MODES)) {
      const socket = await clients.connect(nginx.url, "/", { transports, ...from });
      const [{ node }] = await ack(socket, "node");
      assert.notEqual(node, b.name, `a ${transports} client`);
    }
  });

  // Cluster-wide connection state recovery: the surviving nodes keep what was broadcast to
  // the dead node's clients, and give it to them when they come back.
  it(
    "its clients reconnect through nginx to another node and recover the broadcasts they missed",
    async () => {
      const { node, victims, sender } = await clientsOfB({ reconnection: false });
      const ids = victims.map((socket) => socket.id);
      await Promise.all(victims.map((socket) => ack(socket, "join", "ticks")));
      const ticks = victims.map((socket) => {
        const got = [];
        socket.on("tick", (_target, n) => got.push(n));
        return got;
      });
      const tick = async (n) =>
        assert.deepEqual(await ack(sender, "to-room", { to: ["ticks"], event: "tick" }, n), ["ok"]);
      const received = (count) =>
        eventually(async () => {
          for (const got of ticks) assert.ok(got.length >= count, `${got.length}/${count} ticks`);
        });

      for (let n = 1; n <= 3; n++) await tick(n);
      await received(3);

      const gone = victims.map((socket) => nextEvent(socket, "disconnect"));
      await node.exit("SIGKILL");
      await Promise.all(gone);
      // Sent while the clients have no node.
      for (let n = 4; n <= 6; n++) await tick(n);

      for (const [i, socket] of victims.entries()) {
        const back = nextEvent(socket, "connect", { timeout: RECONNECT_TIMEOUT });
        socket.connect();
        await back;
        if (socket.io.opts.transports.length > 1) await upgraded(socket);
        assert.equal(socket.recovered, true, `${socket.io.opts.transports} client recovered`);
        assert.equal(socket.id, ids[i], "with the same id");
        const [{ node: now }] = await ack(socket, "node");
        assert.notEqual(now, node.name);
      }

      for (let n = 7; n <= 9; n++) await tick(n);
      await received(9);
      await new Promise((resolve) => setTimeout(resolve, 100));
      for (const got of ticks) {
        assert.deepEqual(got, [1, 2, 3, 4, 5, 6, 7, 8, 9], "every tick once, in order");
      }
    },
  );
});
