// Clusters for the cluster tests: Socket.IO servers sharing one private redis-server, each
// either the Node peer (`@socket.io/redis-adapter`, e2e/tools/node-cluster-server.mjs) or the
// Tidings test bed (`socketio-testbed` with `REDIS_URL`). Both answer the same cluster events,
// so a test can be written once and run over any mix of them. A sharded cluster shares a
// private Redis Cluster instead (`REDIS_CLUSTER_URLS`: Node's `createShardedAdapter`, Tidings'
// `ShardedCluster`).
import { after, afterEach, before } from "node:test";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { RELAXED_HEARTBEAT, Clients } from "../lib/socketio.mjs";
import { redisCommand, redisMissing, startRedis } from "../lib/redis.mjs";
import { redisClusterMissing, startRedisCluster } from "../lib/redis-cluster.mjs";
import { startNodeServer, startServer } from "../lib/server.mjs";

export { redisClusterMissing, redisMissing };

/** The Node peer's script. */
export const NODE_PEER = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  "../tools/node-cluster-server.mjs",
);

/** The channel every node of namespace `nsp` subscribes to once (its count is the server count). */
export const requestChannel = (nsp = "/", key = "socket.io") => `${key}-request#${nsp}#`;

/** How long a cluster may take to have every node subscribed (ms). */
const SUBSCRIBED_TIMEOUT = 10_000;

/** The sharded channel every node of namespace `nsp` subscribes to once. */
export const shardedChannel = (nsp = "/", prefix = "socket.io") => `${prefix}#${nsp}#`;

/**
 * Starts one cluster node of `kind` ("node" or "tidings") against `redis` (a redis-server of
 * startRedis, or a Redis Cluster of startRedisCluster), named `name` (its `NODE_NAME`), with
 * `env` on top. Resolves with startServer's `{ pid, url, port, exit, stop }` plus `kind` and
 * `name`.
 */
export async function startNode(redis, { kind, name, env = {} }) {
  const where = redis.urls ? { REDIS_CLUSTER_URLS: redis.urls.join(",") } : { REDIS_URL: redis.url };
  const base = { ...RELAXED_HEARTBEAT, ...where, NODE_NAME: name };
  let server;
  if (kind === "node") {
    server = await startNodeServer(NODE_PEER, { ...base, ...env });
  } else if (kind === "tidings") {
    server = await startServer("socketio-testbed", {
      RUST_LOG: process.env.RUST_LOG ?? "error",
      ...base,
      ...env,
    });
  } else {
    throw new Error(`no cluster node of kind ${JSON.stringify(kind)}`);
  }
  return { ...server, kind, name };
}

/**
 * Resolves once `count` servers hold a subscription to the request channel of `nsp` on
 * the redis-server on `port` (what the Node adapter counts as its servers).
 */
export async function subscribedServers(
  port,
  count,
  { nsp = "/", timeout = SUBSCRIBED_TIMEOUT } = {},
) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const [, subscribers] = await redisCommand(port, "PUBSUB", "NUMSUB", requestChannel(nsp));
    if (subscribers === count) return;
    if (Date.now() > deadline) {
      throw new Error(`${subscribers} servers subscribed to ${requestChannel(nsp)}, not ${count}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Resolves once `count` servers hold their subscriptions to namespace `nsp`'s sharded
 * channels on `redisCluster`: `count` subscribers to the namespace's channel (what the Node
 * adapter counts as its servers), and `count` channels for the answers to each server
 * (`P#N#uid#`, the uid 16 hex digits).
 */
export async function shardSubscribedServers(
  redisCluster,
  count,
  { nsp = "/", timeout = SUBSCRIBED_TIMEOUT } = {},
) {
  const main = shardedChannel(nsp);
  const deadline = Date.now() + timeout;
  for (;;) {
    const [subscribers, answers] = await Promise.all([
      redisCluster.shardSubscribers(main),
      redisCluster.shardChannels(`${main}${"[0-9a-f]".repeat(16)}#`),
    ]);
    if (subscribers === count && answers.length === count) return;
    if (Date.now() > deadline) {
      throw new Error(`${subscribers} servers subscribed to ${main}, answers to ${answers}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Starts `nodes` (a list of `{ kind: "node" | "tidings", name?, env? }`; names default to
 * "A", "B", ...) against `redis` (a redis-server of its own when not given; with `sharded`,
 * a Redis Cluster), and resolves once every one of them is subscribed, with
 * `{ redis, nodes, stop() }`: `nodes[i]` is `{ kind, name, url, port, pid, exit, stop }`;
 * `stop()` stops the nodes, then Redis if the cluster started it.
 */
export async function startCluster(nodes, { redis, sharded = false } = {}) {
  const ownRedis = !redis;
  sharded ||= Boolean(redis?.urls);
  redis ??= sharded ? await startRedisCluster() : await startRedis();
  const started = [];
  const stop = async () => {
    await Promise.all(started.map((node) => node.stop()));
    if (ownRedis) await redis.stop();
  };
  try {
    await Promise.all(
      nodes.map(async (spec, i) => {
        const name = spec.name ?? String.fromCharCode(65 + i);
        started[i] = await startNode(redis, { ...spec, name });
      }),
    );
    if (sharded) await shardSubscribedServers(redis, nodes.length);
    else await subscribedServers(redis.port, nodes.length);
  } catch (error) {
    await Promise.all(started.filter(Boolean).map((node) => node.stop()));
    if (ownRedis) await redis.stop();
    throw error;
  }
  return { redis, nodes: started, stop };
}

/**
 * Starts a cluster of `nodes` (see startCluster) for the enclosing suite, closes the
 * suite's clients after each test and stops the cluster after the suite. Returns
 * `{ cluster, clients }`; `cluster.redis` and `cluster.nodes` are valid once the suite
 * runs. Without redis-server (outside CI) the suite's hooks do nothing: skip its tests
 * with `{ skip: redisMissing }`.
 *
 * With `redis` (a function that returns a started Redis or Redis Cluster, or a promise of
 * one, called when the suite starts), the cluster uses it and leaves it running; with `sharded` and no `redis`,
 * it starts a Redis Cluster of its own (skip with `redisClusterMissing` then).
 */
export function useCluster(nodes, clientOptions = {}, { redis, sharded = false } = {}) {
  const missing = sharded ? redisClusterMissing : redisMissing;
  const clients = new Clients(clientOptions);
  let started;
  const cluster = {
    get redis() {
      return started.redis;
    },
    get nodes() {
      return started.nodes;
    },
  };
  before(async () => {
    if (!missing) started = await startCluster(nodes, { redis: await redis?.(), sharded });
  });
  afterEach(() => clients.closeAll());
  after(() => started?.stop());
  return { cluster, clients };
}

/**
 * Calls `attempt` until it resolves (then resolves with its value) or `timeout` ms have
 * passed (then rejects with its last error). For what comes back in its own time, such as
 * a cluster after Redis restarted; each attempt should wait on events, with a short timeout.
 */
export async function eventually(attempt, { timeout = 10_000 } = {}) {
  const deadline = Date.now() + timeout;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
