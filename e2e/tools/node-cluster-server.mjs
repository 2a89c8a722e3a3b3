// The Node member of a Redis cluster: the official socket.io server with
// `@socket.io/redis-adapter` (node-redis clients), answering the cluster events of
// `socketio-testbed` (examples/src/bin/socketio-testbed.rs, the reference for every shape)
// with the same arguments and acks, so that a test can drive a Tidings node and a Node node
// alike (e2e/cluster/).
//
// Namespaces: `/` (which greets every socket with `hello`, `{ id, nsp, recovered }`),
// `/isolated`, `/private` (refuses a CONNECT whose auth has no `token: "secret"` with
// "not authorized" and data `{ reason, code }`) and `/dyn-<digits>` (refuses `/dyn-13` with
// "unlucky"). Events ("target" is `{ to?, except?, includeSelf?, volatile?, event?,
// timeout? }`; an event asked without an ack, or with malformed arguments, gets no answer):
// - `echo` (any args, ack): acks the same arguments; `emit-back` (any args): emits
//   `emit-back` with them;
// - `join` / `leave` (a room or a list, ack): acks the socket's rooms (its own left out), sorted;
// - `to-room` (target, data, ack): emits `target.event` with `(target, data)` to the sockets
//   of the cluster in `to` (all when empty) but those in `except` and, unless `includeSelf`,
//   the sender, as a volatile broadcast with `volatile`; acks "ok";
// - `broadcast-with-ack` (target, data, ack): the same broadcast asking for acks within
//   `target.timeout` ms (default 1000); acks `(null, responses)` or `({ message: "timeout",
//   missing }, responses)`, each response being the array of one recipient's ack arguments
//   (only the first argument travels between nodes, so it holds at most one);
// - `fetch-sockets` (target, ack): acks `[{ id, rooms, data, handshake: { query, auth } }]`
//   of the cluster's sockets in `to` but `except` (the sender included), by id, `rooms`
//   without the socket's own id, sorted. Node gives a socket whose data was never set `{}`,
//   and a handshake without auth `{}` (where the Rust test bed says `null`);
// - `set-data` (value, ack): sets the socket's data; acks "ok";
// - `sockets-join` / `sockets-leave` (target, a room or a list, ack): makes the cluster's
//   sockets in `to` but `except` (the sender included) join or leave the rooms; acks "ok"
//   once this node's own sockets did;
// - `disconnect-sockets` (target, close, ack): acks "ok", then disconnects the cluster's
//   sockets in `to` but `except` (the sender included), their connections too when `close`;
// - `node` (ack): acks `{ node, pid }`; `server-count` (ack): acks the adapter's server count;
// - `all-rooms` (ack): acks the rooms of the whole cluster, socket ids left out, sorted;
// - `server-side-emit` (`{ event, data?, timeout? }`, ack): emits `event` to the namespace on
//   the other nodes, with `data` as its one argument (none when missing or null); without
//   `timeout` acks "ok"; with it asks for their replies and acks `(null, replies)` or
//   `({ message: "timeout", missing }, replies)`, each reply being `[{ node, event, args }]`.
//   Node has no timeout per server-side emit: it waits the adapter's `requestsTimeout`
//   (`REQUESTS_TIMEOUT`), whatever `timeout` says;
// - `server-side-received` (ack): acks the server-side emits the namespace received from the
//   other nodes, `[{ event, args }]`, in arrival order; `/`, `/isolated` and `/private` record
//   them, and reply `{ node, event, args }` to those that wait for a reply.
//
// Environment: `REDIS_URL` (a Redis: the classic adapter, `createAdapter`) or
// `REDIS_CLUSTER_URLS` (comma-separated node URLs of a Redis Cluster: the sharded adapter,
// `createShardedAdapter`, over node-redis's `createCluster`, with `REDIS_SUBSCRIPTION_MODE`
// `static` or `dynamic`, the default), one of them required; `PORT` (0 for any);
// `NODE_NAME` (default `node-<pid>`); `PARSER` (`msgpack`, else JSON); `PING_INTERVAL` /
// `PING_TIMEOUT` (ms); `REQUESTS_TIMEOUT` (ms, the classic adapter's, default 5000; the
// sharded one always waits 5000). It prints
// `node-cluster-server listening on http://127.0.0.1:PORT` once its adapters are subscribed,
// and ends at once when Redis cannot be reached at the start.
import { createServer } from "node:http";
import { createAdapter, createShardedAdapter } from "@socket.io/redis-adapter";
import { createClient, createCluster } from "redis";
import { Server } from "socket.io";
import msgpackParser from "socket.io-msgpack-parser";

const redisUrl = process.env.REDIS_URL;
const clusterUrls = process.env.REDIS_CLUSTER_URLS?.split(",").filter(Boolean);
const sharded = Boolean(clusterUrls?.length);
if (!redisUrl && !sharded) {
  console.error("node-cluster-server: REDIS_URL or REDIS_CLUSTER_URLS is required");
  process.exit(1);
}
const port = Number(process.env.PORT ?? 0);
const node = process.env.NODE_NAME || `node-${process.pid}`;
const NAMESPACES = ["/", "/isolated", "/private"];
/** The adapters' channel prefix (Node's default). */
const PREFIX = "socket.io";

/** The number in environment variable `name`, or undefined. */
const envNumber = (name) => (process.env[name] ? Number(process.env[name]) : undefined);

// RESP2 either way: node-redis 4 speaks nothing else, and sharded pub/sub works over it.
const pub = sharded
  ? createCluster({ rootNodes: clusterUrls.map((url) => ({ url })) })
  : createClient({ url: redisUrl });
const sub = pub.duplicate();
// Redis unreachable at the start ends the server; later the clients reconnect by themselves
// (and subscribe again), so an outage is not the server's end.
let connected = false;
const onError = (error) => {
  if (connected) return;
  console.error(`node-cluster-server: no Redis at ${redisUrl ?? clusterUrls}: ${error.message}`);
  process.exit(1);
};
pub.on("error", onError);
sub.on("error", onError);
await Promise.all([pub.connect(), sub.connect()]);
connected = true;
const subscriber = sharded ? null : await sub.sendCommand(["CLIENT", "ID"]);

/**
 * Node's adapter applies its own `socketsJoin`, `socketsLeave` and `disconnectSockets` only
 * when their request comes back from Redis. A fence is a message published after them on a
 * channel of this server's own: Redis hands the subscriber both in order, so once the fence
 * is back, so is the request, and the adapter has applied it. (Its channel is outside the
 * adapter's prefix, and the adapter's server count is untouched.) Gives up after a while,
 * for a fence lost in a Redis outage.
 *
 * With the sharded adapter the order holds on one node only: a namespace's fence channel
 * has the namespace's channel (`P#N#`, where the requests go) as its hash tag, so it lives
 * in the same slot, and both travel over the same connections.
 */
const fenceChannel = (nsp) =>
  sharded
    ? `{${PREFIX}#${nsp}#}node-cluster-server-fence#${process.pid}`
    : `node-cluster-server-fence#${process.pid}`;
const fences = new Map();
let fenceCount = 0;
const onFence = (id) => {
  fences.get(id)?.();
  fences.delete(id);
};
/** Subscribes to the fence channels (for the sharded adapter, once the adapters exist). */
async function subscribeFences() {
  if (!sharded) return sub.subscribe(fenceChannel("/"), onFence);
  await Promise.all(NAMESPACES.map((nsp) => sub.sSubscribe(fenceChannel(nsp), onFence)));
}
/** Resolves once what this server published for namespace `nsp` before came back. */
function fence(nsp) {
  const id = String(++fenceCount);
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 2_000);
    fences.set(id, () => {
      clearTimeout(timer);
      resolve();
    });
    const sent = sharded ? pub.sPublish(fenceChannel(nsp), id) : pub.publish(fenceChannel(nsp), id);
    sent.catch(() => {});
  });
}
if (!sharded) await subscribeFences();

/**
 * The recipients each ack broadcast expects: the adapter reports them (its own and every
 * other node's count) to the callback `broadcastWithAck` gets, which socket.io calls while
 * `emit` runs. `countNext` hands the next call a tally to add them to.
 */
let nextTally = null;
const countNext = (tally) => (nextTally = tally);
const redisAdapter = sharded
  ? createShardedAdapter(pub, sub, {
      channelPrefix: PREFIX,
      subscriptionMode: process.env.REDIS_SUBSCRIPTION_MODE || "dynamic",
    })
  : createAdapter(pub, sub, { requestsTimeout: envNumber("REQUESTS_TIMEOUT") });
// socket.io calls it with `new`: a function that returns the instance it made.
function adapter(nsp) {
  const instance = redisAdapter(nsp);
  const broadcastWithAck = instance.broadcastWithAck.bind(instance);
  instance.broadcastWithAck = (packet, opts, onClientCount, onAck) => {
    const tally = nextTally;
    nextTally = null;
    const count = (n) => {
      if (tally) tally.recipients += n;
      onClientCount(n);
    };
    return broadcastWithAck(packet, opts, count, onAck);
  };
  return instance;
}

const httpServer = createServer();
const options = { adapter };
if (process.env.PARSER === "msgpack") options.parser = msgpackParser;
if (process.env.PING_INTERVAL) options.pingInterval = envNumber("PING_INTERVAL");
if (process.env.PING_TIMEOUT) options.pingTimeout = envNumber("PING_TIMEOUT");
const io = new Server(httpServer, options);

/** The ack callback at the end of `args` (removed from them), or null. */
const ackOf = (args) => (typeof args.at(-1) === "function" ? args.pop() : null);

/**
 * Registers `handler(ack, ...args)` for `event` on `socket`, called only when the client
 * asked for an ack and `valid(...args)` holds: like the Rust test bed, whose extractors
 * refuse malformed arguments, the peer does not answer them.
 */
function onAcked(socket, event, valid, handler) {
  socket.on(event, (...args) => {
    const ack = ackOf(args);
    if (ack && valid(...args)) handler(ack, ...args);
  });
}

const isObject = (value) => value !== null && typeof value === "object" && !Array.isArray(value);
const isStrings = (value) => Array.isArray(value) && value.every((v) => typeof v === "string");
/** A room or a list of rooms. */
const isRooms = (value) => typeof value === "string" || isStrings(value);
/** `{ to?, except?, includeSelf?, volatile?, event?, timeout? }`. */
const isTarget = (target) =>
  isObject(target) &&
  (target.to === undefined || isStrings(target.to)) &&
  (target.except === undefined || isStrings(target.except)) &&
  (target.includeSelf === undefined || typeof target.includeSelf === "boolean") &&
  (target.volatile === undefined || typeof target.volatile === "boolean") &&
  (target.event === undefined || typeof target.event === "string") &&
  (target.timeout == null || (Number.isInteger(target.timeout) && target.timeout >= 0));
const always = () => true;

/** A socket's rooms, its own id left out, sorted. */
const roomsOf = (id, rooms) => [...rooms].filter((room) => room !== id).sort();

/** The sockets `target` selects in the socket's namespace, the sender included. */
function among(socket, target) {
  let operator = socket.nsp.in(target.to ?? []);
  if (target.except?.length) operator = operator.except(target.except);
  return operator;
}

/**
 * The recipients of a broadcast `target` asks of `socket`: the sender only with includeSelf;
 * volatile with volatile.
 */
function recipients(socket, target) {
  let operator = target.includeSelf ? socket.nsp.in([]) : socket.broadcast;
  if (target.volatile) operator = operator.volatile;
  if (target.to?.length) operator = operator.to(target.to);
  if (target.except?.length) operator = operator.except(target.except);
  return operator;
}

/** Ack arguments as the test bed gives them: each answer as the array of its arguments. */
const asArgs = (answers) => answers.map((answer) => (answer === undefined ? [] : [answer]));

/** `{ message: "timeout", missing }` from Node's "only X responses received out of Y". */
function requestFailure(error) {
  const counts = /only (\d+) responses received out of (\d+)/.exec(error.message);
  if (!counts) return { message: error.message, missing: 0 };
  return { message: "timeout", missing: Number(counts[2]) - Number(counts[1]) };
}

/** The server-side events each namespace received (dynamic namespaces record none). */
const received = new Map(NAMESPACES.map((name) => [name, []]));

for (const name of NAMESPACES) {
  const nsp = io.of(name);
  // Server-side emits of any name: socket.io hands them all to this method.
  const onServerSideEmit = nsp._onServerSideEmit.bind(nsp);
  nsp._onServerSideEmit = (packet) => {
    const [event, ...args] = packet;
    const ack = typeof args.at(-1) === "function" ? args.pop() : null;
    received.get(name).push({ event, args });
    ack?.({ node, event, args });
    onServerSideEmit(packet);
  };
  nsp.on("connection", (socket) => {
    events(socket);
    if (name === "/") {
      socket.emit("hello", { id: socket.id, nsp: name, recovered: socket.recovered });
    }
  });
}
io.of("/private").use((socket, next) => {
  if (socket.handshake.auth?.token === "secret") return next();
  const error = new Error("not authorized");
  error.data = { reason: "a token is needed", code: 4001 };
  next(error);
});
io.of(/^\/dyn-\d+$/)
  .use((socket, next) => next(socket.nsp.name === "/dyn-13" ? new Error("unlucky") : undefined))
  .on("connection", (socket) => events(socket));

function events(socket) {
  socket.on("echo", (...args) => ackOf(args)?.(...args));
  socket.on("emit-back", (...args) => {
    ackOf(args);
    socket.emit("emit-back", ...args);
  });
  onAcked(socket, "join", isRooms, (ack, rooms) => {
    socket.join(rooms);
    ack(roomsOf(socket.id, socket.rooms));
  });
  onAcked(socket, "leave", isRooms, (ack, rooms) => {
    for (const room of [rooms].flat()) socket.leave(room);
    ack(roomsOf(socket.id, socket.rooms));
  });
  onAcked(socket, "to-room", isTarget, (ack, ...args) => {
    const [target] = args;
    try {
      recipients(socket, target).emit(target.event ?? "", ...args);
      ack("ok");
    } catch (error) {
      ack(error.message);
    }
  });
  onAcked(socket, "broadcast-with-ack", isTarget, (ack, ...args) => {
    const [target] = args;
    const tally = { recipients: 0 };
    const done = (error, responses) => {
      if (!error) return ack(null, asArgs(responses));
      const missing = Math.max(0, tally.recipients - responses.length);
      ack({ message: "timeout", missing }, asArgs(responses));
    };
    try {
      countNext(tally);
      recipients(socket, target)
        .timeout(target.timeout ?? 1000)
        .emit(target.event ?? "", ...args, done);
    } catch (error) {
      ack({ message: error.message, missing: 0 }, []);
    } finally {
      countNext(null);
    }
  });
  onAcked(socket, "fetch-sockets", isTarget, async (ack, target) => {
    try {
      const sockets = await among(socket, target).fetchSockets();
      const infos = sockets.map((s) => ({
        id: s.id,
        rooms: roomsOf(s.id, s.rooms),
        data: s.data ?? null,
        handshake: { query: s.handshake?.query ?? {}, auth: s.handshake?.auth ?? null },
      }));
      ack(infos.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)));
    } catch (error) {
      ack({ message: error.message });
    }
  });
  onAcked(socket, "set-data", always, (ack, value) => {
    socket.data = value;
    ack("ok");
  });
  // Acked once this node's own sockets have moved, as the Rust test bed does.
  const isMove = (target, rooms) => isTarget(target) && isRooms(rooms);
  onAcked(socket, "sockets-join", isMove, async (ack, target, rooms) => {
    among(socket, target).socketsJoin(rooms);
    await fence(socket.nsp.name);
    ack("ok");
  });
  onAcked(socket, "sockets-leave", isMove, async (ack, target, rooms) => {
    among(socket, target).socketsLeave(rooms);
    await fence(socket.nsp.name);
    ack("ok");
  });
  onAcked(
    socket,
    "disconnect-sockets",
    (target, close) => isTarget(target) && typeof close === "boolean",
    (ack, target, close) => {
      ack("ok");
      among(socket, target).disconnectSockets(close);
    },
  );
  onAcked(socket, "node", always, (ack) => ack({ node, pid: process.pid }));
  onAcked(socket, "server-count", always, async (ack) => {
    ack(await socket.nsp.adapter.serverCount());
  });
  onAcked(socket, "all-rooms", always, async (ack) => {
    try {
      const [rooms, sockets] = await Promise.all([
        socket.nsp.adapter.allRooms(),
        socket.nsp.fetchSockets(),
      ]);
      const ids = new Set(sockets.map((s) => s.id));
      ack([...rooms].filter((room) => !ids.has(room)).sort());
    } catch (error) {
      ack({ message: error.message });
    }
  });
  const isServerSideEmit = (emit) =>
    isObject(emit) &&
    typeof emit.event === "string" &&
    (emit.timeout == null || (Number.isInteger(emit.timeout) && emit.timeout >= 0));
  onAcked(socket, "server-side-emit", isServerSideEmit, async (ack, { event, data, timeout }) => {
    // `data` is the one argument, none when it is missing or null.
    const args = data == null ? [] : [data];
    if (timeout == null) {
      try {
        socket.nsp.serverSideEmit(event, ...args);
        ack("ok");
      } catch (error) {
        ack(error.message);
      }
      return;
    }
    try {
      ack(null, asArgs(await socket.nsp.serverSideEmitWithAck(event, ...args)));
    } catch (error) {
      ack(requestFailure(error), asArgs(error.responses ?? []));
    }
  });
  onAcked(socket, "server-side-received", always, (ack) => {
    ack(received.get(socket.nsp.name) ?? []);
  });
}

/**
 * Resolves once the subscriber connection holds every adapter's subscriptions: the adapters
 * subscribe without saying when it is done.
 *
 * The sharded adapter's subscriptions are spread over the nodes. Each namespace's fence
 * channel shares a slot with the namespace's channel, and so the node connection the adapter
 * subscribed to it on; subscribed to after it, its confirmation comes after the adapter's.
 * (The namespace's answers channel, `P#N#uid#`, may be on another node: the tests wait for
 * it themselves.)
 */
async function subscribed() {
  if (sharded) return subscribeFences();
  for (;;) {
    const [client] = await pub.sendCommand(["CLIENT", "LIST", "ID", String(subscriber)]).then(
      (list) => String(list).split("\n"),
    );
    const count = (field) => Number(new RegExp(`\\b${field}=(\\d+)`).exec(client)?.[1] ?? 0);
    // Three channels and a pattern per namespace, and the fence channel.
    if (count("sub") >= 3 * NAMESPACES.length + 1 && count("psub") >= NAMESPACES.length) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

await subscribed();
httpServer.listen(port, "127.0.0.1", () => {
  console.log(`node-cluster-server listening on http://127.0.0.1:${httpServer.address().port}`);
});
