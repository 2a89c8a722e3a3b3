// A private Redis Cluster for the sharded cluster tests: masters only, each a redis-server
// with `--cluster-enabled yes` on a free loopback port, in a temporary folder, without
// persistence, joined by `redis-cli --cluster create`, and killed with the test process.
//
// - startRedisCluster(): starts one and resolves once every node says `cluster_state:ok`;
// - its `nodeOf(channel)`, `shardSubscribers(channel)` and `shardChannels(pattern)` look at
//   the sharded pub/sub: which node holds a channel's slot, who subscribes to it, which
//   channels exist.
//
// The system's redis-server service, if any, is never used.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import { freePort, redisCommand, spawnRedis } from "./redis.mjs";

/**
 * Why the tests that need a Redis Cluster cannot run here (no `redis-server` or `redis-cli`
 * on PATH), or null. In CI (`CI` set) a missing one is an error, thrown when this module
 * loads.
 */
export const redisClusterMissing = ["redis-server", "redis-cli"].every(onPath)
  ? null
  : "redis-server or redis-cli is not on PATH: run scripts/setup to install Debian's redis-server";
if (redisClusterMissing && process.env.CI) throw new Error(redisClusterMissing);

function onPath(command) {
  return (process.env.PATH ?? "")
    .split(path.delimiter)
    .some((dir) => dir && existsSync(path.join(dir, command)));
}

/** How long the cluster may take to agree on its slots once created (ms). */
const OK_TIMEOUT = 20_000;

/** Redis Cluster's slot count. */
const SLOTS = 16_384;

/** A free loopback port whose cluster bus port (10,000 higher) is free too. */
async function freeClusterPort() {
  for (;;) {
    const port = await freePort();
    if (port >= 55_000) continue;
    const bus = await new Promise((resolve) => {
      const probe = net.createServer();
      probe.once("error", () => resolve(false));
      probe.listen(port + 10_000, "127.0.0.1", () => probe.close(() => resolve(true)));
    });
    if (bus) return port;
  }
}

/** Resolves once `attempt()` is true, polling every 50 ms; rejects with `why` after `timeout`. */
async function until(attempt, why, timeout = OK_TIMEOUT) {
  const deadline = Date.now() + timeout;
  while (!(await attempt())) {
    if (Date.now() > deadline) throw new Error(why());
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * Starts a Redis Cluster of `masters` masters (3 by default; no replicas) on free loopback
 * ports and resolves once every node says `cluster_state:ok` with every slot served, with
 * `{ urls, ports, stop(), nodeOf(channel), shardSubscribers(channel), shardChannels(pattern) }`:
 * - `urls`: `redis://127.0.0.1:PORT` of every node; `ports`: their ports;
 * - `stop()`: kills every node and removes the folder;
 * - `nodeOf(channel)`: the port of the node that holds `channel`'s slot;
 * - `shardSubscribers(channel)`: `PUBSUB SHARDNUMSUB channel` on that node;
 * - `shardChannels(pattern)`: the sharded channels matching `pattern` on every node
 *   (`PUBSUB SHARDCHANNELS`), sorted.
 */
export async function startRedisCluster(masters = 3) {
  if (redisClusterMissing) throw new Error(redisClusterMissing);
  const dir = mkdtempSync(path.join(os.tmpdir(), "tidings-redis-cluster-"));
  const children = [];
  const stop = async () => {
    await Promise.all(
      children.map(
        (child) =>
          new Promise((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once("exit", () => resolve());
            child.kill("SIGKILL");
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };

  const ports = [];
  try {
    await Promise.all(
      Array.from({ length: masters }, async () => {
        for (let attempt = 1; ; attempt++) {
          const port = await freeClusterPort();
          if (ports.includes(port)) continue;
          ports.push(port);
          try {
            children.push(
              await spawnRedis(port, dir, [
                "--cluster-enabled", "yes",
                "--cluster-config-file", `nodes-${port}.conf`,
                "--cluster-node-timeout", "2000",
              ]),
            );
            return;
          } catch (error) {
            ports.splice(ports.indexOf(port), 1);
            if (!error.inUse || attempt === 5) throw error;
          }
        }
      }),
    );
    ports.sort((a, b) => a - b);
    const nodes = ports.map((port) => `127.0.0.1:${port}`);
    await promisify(execFile)(
      "redis-cli",
      ["--cluster", "create", ...nodes, "--cluster-replicas", "0", "--cluster-yes"],
      { timeout: OK_TIMEOUT },
    );
    const ok = async (port) => {
      const info = await redisCommand(port, "CLUSTER", "INFO").catch(() => "");
      return info.includes("cluster_state:ok") && info.includes(`cluster_slots_ok:${SLOTS}`);
    };
    await until(
      async () => (await Promise.all(ports.map(ok))).every(Boolean),
      () => `the Redis Cluster on ${nodes.join(", ")} is not ok within ${OK_TIMEOUT} ms`,
    );
  } catch (error) {
    await stop();
    throw error;
  }

  // The slots of each node, as they are now (the tests move none).
  const ranges = [];
  for (const [start, end, [, port]] of await redisCommand(ports[0], "CLUSTER", "SLOTS")) {
    ranges.push({ start, end, port });
  }
  const nodeOf = async (channel) => {
    const slot = await redisCommand(ports[0], "CLUSTER", "KEYSLOT", channel);
    return ranges.find(({ start, end }) => start <= slot && slot <= end).port;
  };

  return {
    urls: ports.map((port) => `redis://127.0.0.1:${port}`),
    ports,
    stop,
    nodeOf,
    async shardSubscribers(channel) {
      const [, count] = await redisCommand(
        await nodeOf(channel),
        "PUBSUB",
        "SHARDNUMSUB",
        channel,
      );
      return count;
    },
    async shardChannels(pattern) {
      const lists = await Promise.all(
        ports.map((port) => redisCommand(port, "PUBSUB", "SHARDCHANNELS", pattern)),
      );
      return lists.flat().sort();
    },
  };
}
