// A private redis-server for the cluster tests, and a tiny RESP client to look inside it.
//
// - startRedis(): `redis-server` on a free loopback port, without persistence, killed with
//   the test process; `restart()` kills it (SIGKILL) and starts it again on the same port;
// - redisCommand(port, ...args): one command on a connection of its own, the reply parsed;
// - psubscribe(port, pattern): records every message published on a matching channel, as
//   bytes, for assertions on what travels over Redis; ssubscribe(port, channel) alike for
//   one sharded channel of a Redis Cluster.
// A Redis Cluster of them is in redis-cluster.mjs.
//
// The system's redis-server service (port 6379), if any, is never used.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { killedAtExit } from "./server.mjs";

/**
 * Why the tests that need Redis cannot run here (no `redis-server` on PATH), or null. In CI
 * (`CI` set) a missing redis-server is an error, thrown when this module loads.
 */
export const redisMissing = findOnPath("redis-server")
  ? null
  : "redis-server is not on PATH: run scripts/setup to install Debian's redis-server";
if (redisMissing && process.env.CI) throw new Error(redisMissing);

function findOnPath(command) {
  return (process.env.PATH ?? "")
    .split(path.delimiter)
    .some((dir) => dir && existsSync(path.join(dir, command)));
}


/** How long redis-server may take to accept connections (ms). */
const READY_TIMEOUT = 10_000;

/** A loopback port nobody listens on right now. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/**
 * Spawns redis-server on `port` in `dir`, with `extra` arguments on top of the defaults, and
 * resolves with the child (killed with this process) once it accepts connections. Rejects
 * with `error.inUse` set when the port was taken.
 */
export function spawnRedis(port, dir, extra = []) {
  const child = spawn(
    "redis-server",
    [
      "--port", String(port),
      "--bind", "127.0.0.1",
      "--save", "",
      "--appendonly", "no",
      "--dir", dir,
      "--logfile", "",
      "--loglevel", "notice",
      ...extra,
    ],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  killedAtExit(child);
  return new Promise((resolve, reject) => {
    let out = "";
    const fail = (why) => {
      clearTimeout(timer);
      child.kill("SIGKILL");
      const error = new Error(`redis-server on port ${port} ${why}: ${out}`);
      error.inUse = /Address already in use/.test(out);
      reject(error);
    };
    const timer = setTimeout(() => fail(`was not ready within ${READY_TIMEOUT} ms`), READY_TIMEOUT);
    const onExit = (code, signal) => fail(`exited (${code ?? signal}) before it was ready`);
    child.once("exit", onExit);
    const onOutput = (chunk) => {
      out += chunk;
      if (!out.includes("Ready to accept connections")) return;
      clearTimeout(timer);
      child.off("exit", onExit);
      // Its log is not needed any more; keep the pipes flowing so that it never blocks.
      child.stdout.off("data", onOutput);
      child.stderr.off("data", onOutput);
      child.stdout.resume();
      child.stderr.resume();
      resolve(child);
    };
    child.stdout.on("data", onOutput);
    child.stderr.on("data", onOutput);
  });
}

/**
 * Starts a redis-server of its own on a free loopback port and resolves once it accepts
 * connections, with `{ url, port, pid, stop(), restart() }`: `url` is
 * `redis://127.0.0.1:PORT`; `stop()` kills it and resolves once it is gone; `restart()`
 * kills it with SIGKILL (clients see their connections drop, nothing is saved) and resolves
 * once a new one accepts connections on the same port (`pid` changes).
 */
export async function startRedis() {
  if (redisMissing) throw new Error(redisMissing);
  const dir = mkdtempSync(path.join(os.tmpdir(), "tidings-redis-"));
  let child;
  let port;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      child = await spawnRedis(port, dir);
      break;
    } catch (error) {
      if (!error.inUse || attempt === 5) throw error;
    }
  }

  const kill = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once("exit", () => resolve());
      child.kill("SIGKILL");
    });

  const redis = {
    url: `redis://127.0.0.1:${port}`,
    port,
    get pid() {
      return child.pid;
    },
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
    async restart() {
      await kill();
      // The port was ours a moment ago; a client of the old server may still hold it in
      // TIME_WAIT, which redis-server's SO_REUSEADDR allows, but try again if it was refused.
      for (let attempt = 1; ; attempt++) {
        try {
          child = await spawnRedis(port, dir);
          return;
        } catch (error) {
          if (!error.inUse || attempt === 20) throw error;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    },
  };
  return redis;
}

// ---------------------------------------------------------------------------------------
// RESP (Redis serialization protocol, version 2)

/** A Redis error reply (`-ERR ...`). */
export class RedisError extends Error {}

/** The RESP encoding of a command: an array of bulk strings. */
function encodeCommand(args) {
  const parts = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = Buffer.isBuffer(arg) ? arg : Buffer.from(String(arg));
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from("\r\n"));
  }
  return Buffer.concat(parts);
}

/**
 * Parses one RESP2 reply from `buffer` at `offset`: `{ value, end }`, or null when the
 * buffer does not hold all of it yet. Bulk strings are Buffers when `binary`, else strings;
 * errors are RedisError values; integers are numbers; nil is null.
 */
function parseReply(buffer, offset, binary) {
  const lineEnd = buffer.indexOf("\r\n", offset);
  if (lineEnd < 0) return null;
  const kind = String.fromCharCode(buffer[offset]);
  const line = buffer.toString("utf8", offset + 1, lineEnd);
  const next = lineEnd + 2;
  switch (kind) {
    case "+":
      return { value: line, end: next };
    case "-":
      return { value: new RedisError(line), end: next };
    case ":":
      return { value: Number(line), end: next };
    case "$": {
      const length = Number(line);
      if (length < 0) return { value: null, end: next };
      if (buffer.length < next + length + 2) return null;
      const bytes = buffer.subarray(next, next + length);
      const value = binary ? Buffer.from(bytes) : bytes.toString("utf8");
      return { value, end: next + length + 2 };
    }
    case "*": {
      const count = Number(line);
      if (count < 0) return { value: null, end: next };
      const items = [];
      let end = next;
      for (let i = 0; i < count; i++) {
        const item = parseReply(buffer, end, binary);
        if (!item) return null;
        items.push(item.value);
        end = item.end;
      }
      return { value: items, end };
    }
    default:
      throw new Error(`not a RESP reply: ${JSON.stringify(buffer.toString("latin1", offset))}`);
  }
}

/**
 * A RESP connection to 127.0.0.1:`port` that hands every reply (or pushed message) to
 * `onReply` as it is parsed. Resolves with the socket once connected.
 */
function connect(port, binary, onReply) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    let pending = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      let reply;
      while ((reply = parseReply(pending, 0, binary))) {
        pending = pending.subarray(reply.end);
        onReply(reply.value);
      }
    });
    socket.once("error", reject);
    socket.once("connect", () => {
      socket.off("error", reject);
      resolve(socket);
    });
  });
}

/**
 * Sends one command (`args`: strings, numbers or Buffers) to the redis-server on `port` over
 * a connection of its own, and resolves with the parsed reply: arrays, strings (bulk and
 * simple), numbers, null. Rejects with a RedisError on an error reply.
 *
 *   await redisCommand(port, "PUBSUB", "NUMSUB", "socket.io-request#/#")
 *   // ["socket.io-request#/#", 2]
 */
export async function redisCommand(port, ...args) {
  let settle;
  const reply = new Promise((resolve, reject) => {
    settle = (value) => (value instanceof RedisError ? reject(value) : resolve(value));
  });
  const socket = await connect(port, false, (value) => settle(value));
  socket.once("error", (error) => settle(new RedisError(error.message)));
  socket.once("close", () => settle(new RedisError("the connection closed before the reply")));
  socket.write(encodeCommand(args));
  try {
    return await reply;
  } finally {
    socket.destroy();
  }
}

/**
 * Taps the redis-server on `port`: resolves, once Redis confirmed the `PSUBSCRIBE pattern`,
 * with `{ messages, next(predicate, { timeout }), close() }`. `messages` lists every message
 * published on a matching channel from then on, as `{ channel, payload }` (`channel` a string,
 * `payload` a Buffer); `next` resolves with the first message (already recorded or to come)
 * for which `predicate(message)` is true.
 *
 * A pattern subscription is invisible to `PUBSUB NUMSUB`, so the tap does not change the
 * adapters' server count. The tap does not outlive its redis-server (`restart()` ends it).
 */
export function psubscribe(port, pattern = "*") {
  return tap(port, ["PSUBSCRIBE", pattern], (reply) => ({ channel: reply[2], payload: reply[3] }));
}

/**
 * Taps sharded `channel` (`SSUBSCRIBE`) on the node of a Redis Cluster on `port`, which must
 * hold the channel's slot: resolves as psubscribe does, once the node confirmed. The tap
 * counts in `PUBSUB SHARDNUMSUB channel`.
 */
export function ssubscribe(port, channel) {
  return tap(port, ["SSUBSCRIBE", channel], (reply) => ({ channel: reply[1], payload: reply[2] }));
}

/**
 * A connection to `port` subscribed with `command`; `read(reply)` finds the channel and
 * payload in a message's reply. The tap of psubscribe and ssubscribe.
 */
async function tap(port, command, read) {
  const [subscribe, name] = command;
  const confirmation = subscribe.toLowerCase();
  const push = { psubscribe: "pmessage", ssubscribe: "smessage" }[confirmation];
  const messages = [];
  let waiters = [];
  let confirm;
  const confirmed = new Promise((resolve, reject) => {
    confirm = (reply) => (reply instanceof RedisError ? reject(reply) : resolve());
  });
  const socket = await connect(port, true, (reply) => {
    if (!Array.isArray(reply)) return confirm(reply);
    const kind = reply[0].toString();
    if (kind === confirmation) return confirm();
    if (kind !== push) return;
    const { channel, payload } = read(reply);
    messages.push({ channel: channel.toString(), payload });
    waiters = waiters.filter((waiter) => !waiter());
  });
  socket.on("error", () => {});
  socket.write(encodeCommand(command));
  try {
    await confirmed;
  } catch (error) {
    socket.destroy();
    throw error;
  }

  return {
    messages,
    next(predicate = () => true, { timeout = 5_000 } = {}) {
      let seen = 0;
      const match = () => {
        for (; seen < messages.length; seen++) {
          if (predicate(messages[seen])) return messages[seen];
        }
        return null;
      };
      const found = match();
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no matching message on "${name}" within ${timeout} ms`)),
          timeout,
        );
        waiters.push(() => {
          const message = match();
          if (!message) return false;
          clearTimeout(timer);
          resolve(message);
          return true;
        });
      });
    },
    close() {
      socket.destroy();
    },
  };
}
