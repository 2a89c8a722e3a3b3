// Servers for the client tests, all on loopback and a free port:
// - startTidings(binary, env): a Tidings binary (`engineio-testbed`, `socketio-testbed`, ...)
//   built by `cargo build --workspace --bins`;
// - startNode(kind, options): the official Node `engine.io` or `socket.io` server, in process;
// - startProxy(target, { upgrade }): an HTTP proxy in front of a server that refuses (or never
//   answers) WebSocket upgrades, as some networks do;
// - startOutageProxy(target): a TCP proxy whose path to the server can be cut (`down()`) and
//   restored (`up()`), for network outages.
// Each resolves with `{ url, port, stop() }` (and more, see below). Whatever is still running
// when the test process exits is killed or closed with it.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

const children = new Set();
process.once("exit", () => children.forEach((child) => child.kill("SIGKILL")));
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.once(signal, () => process.exit(1));
}

/** The path of a Tidings binary: `target/debug/<name>` (or `$TIDINGS_PROFILE`), else release. */
export function binary(name) {
  for (const profile of [process.env.TIDINGS_PROFILE ?? "debug", "release"]) {
    const candidate = path.join(root, "target", profile, name);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`${name} is not built: run \`cargo build --workspace --bins\` at the repository root`);
}

/**
 * Starts the Tidings binary `name` with `env` (on top of this process's, with `PORT=0`) and
 * resolves once it says where it listens, with `{ url, port, pid, signal(sig), exit(sig),
 * stop() }`: `url` is `http://127.0.0.1:PORT`; `signal` sends a signal (SIGSTOP, SIGCONT...);
 * `exit` sends one (SIGTERM by default) and resolves with `{ code, signal }` once the process
 * exited; `stop()` is `exit("SIGKILL")` made harmless to repeat.
 */
export function startTidings(name, env = {}) {
  const child = spawn(binary(name), [], {
    env: { ...process.env, PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.add(child);
  // Through this process, so that a server left behind never holds the runner's output open.
  child.stderr.pipe(process.stderr);
  const exited = new Promise((resolve) =>
    child.once("exit", (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  return new Promise((resolve, reject) => {
    let out = "";
    const fail = (why) => {
      child.kill("SIGKILL");
      reject(new Error(`${name} ${why}; it printed: ${out}`));
    };
    const timer = setTimeout(() => fail("did not say where it listens within 10 s"), 10_000);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code ?? signal}) before listening: ${out}`));
    });
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const match = out.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (!match) return;
      clearTimeout(timer);
      child.stdout.removeAllListeners("data");
      child.stdout.resume();
      const port = Number(match[1]);
      const exit = (signal = "SIGTERM") => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        return exited;
      };
      resolve({
        url: `http://127.0.0.1:${port}`,
        port,
        pid: child.pid,
        signal: (signal) => child.kill(signal),
        exit,
        stop: async () => {
          await exit("SIGKILL");
        },
      });
    });
  });
}

const closers = new Set();

/** `stop`, made to run once, and run by `stopAll()` if the test did not. */
function tracked(stop) {
  let stopping;
  const once = () => {
    closers.delete(once);
    return (stopping ??= stop());
  };
  closers.add(once);
  return once;
}

/** Listens on 127.0.0.1 with a free port; `close()` closes it and every connection it holds. */
function listen(server) {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      const close = () =>
        new Promise((done) => {
          server.closeAllConnections();
          server.close(() => done());
        });
      resolve({ url: `http://127.0.0.1:${port}`, port, close });
    });
  });
}

/**
 * Starts the official Node server in this process: `kind` is `"engine.io"` (path
 * `/engine.io/`) or `"socket.io"` (path `/socket.io/`); `options` go to its constructor. Resolves
 * with `{ url, port, server, stop() }`, `server` being the `engine.io` or `socket.io` Server,
 * to which the test attaches its handlers.
 */
export async function startNode(kind, options = {}) {
  const httpServer = http.createServer();
  let server;
  if (kind === "engine.io") {
    const { attach } = await import("engine.io");
    server = attach(httpServer, options);
  } else if (kind === "socket.io") {
    const { Server } = await import("socket.io");
    server = new Server(httpServer, options);
  } else {
    throw new Error(`unknown Node server kind: ${kind}`);
  }
  const { url, port, close } = await listen(httpServer);
  return {
    url,
    port,
    server,
    stop: tracked(async () => {
      server.close();
      await close();
    }),
  };
}

/**
 * Starts a proxy to `target` (a `http://127.0.0.1:PORT` URL) that forwards every HTTP request
 * (streamed both ways, so SSE works) and treats WebSocket upgrades as told by `upgrade`:
 * `"pass"` tunnels them to `target`, `"refuse"` answers them 400, `"hang"` never answers; or
 * a function of the request that says which. Resolves with `{ url, port, upgrades, stop() }`,
 * `upgrades` listing the URLs of the upgrade requests it saw.
 */
export async function startProxy(target, { upgrade = "refuse" } = {}) {
  const to = new URL(target);
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const forward = http.request(
      { host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode, answer.headers);
        res.flushHeaders();
        answer.pipe(res);
      },
    );
    forward.on("error", () => res.destroy());
    res.on("close", () => forward.destroy());
    req.pipe(forward);
  });
  const proxy = { upgrades: [] };
  const tunnels = new Set();
  server.on("upgrade", (req, socket, head) => {
    proxy.upgrades.push(req.url);
    tunnels.add(socket);
    socket.on("error", () => {});
    const how = typeof upgrade === "function" ? upgrade(req) : upgrade;
    if (how === "refuse") {
      socket.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    } else if (how === "pass") {
      const upstream = net.connect(Number(to.port), to.hostname, () => {
        const lines = [`${req.method} ${req.url} HTTP/1.1`];
        for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
        upstream.write(lines.join("\r\n") + "\r\n\r\n");
        upstream.write(head);
        upstream.pipe(socket).pipe(upstream);
      });
      tunnels.add(upstream);
      upstream.on("error", () => socket.destroy());
      socket.on("close", () => upstream.destroy());
      upstream.on("close", () => socket.destroy());
    }
  });
  const { url, port, close } = await listen(server);
  return Object.assign(proxy, {
    url,
    port,
    stop: tracked(async () => {
      agent.destroy();
      tunnels.forEach((socket) => socket.destroy());
      await close();
    }),
  });
}

/**
 * Starts a TCP proxy to `target` (a `http://127.0.0.1:PORT` URL) that can be taken down, as
 * the network between a client and its server can: `down()` closes every connection it carries
 * at once, both ways, dropping what is in flight, and stops listening, so that new connections
 * are refused (ECONNREFUSED) until `up()` listens again on the same port. Both resolve once
 * done. Resolves with `{ url, port, down(), up(), stop() }`.
 */
export async function startOutageProxy(target) {
  const to = new URL(target);
  const pairs = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(Number(to.port), to.hostname);
    const pair = { client, upstream };
    pairs.add(pair);
    const drop = () => {
      pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    for (const side of [client, upstream]) {
      side.on("error", drop);
      side.on("close", drop);
    }
    client.pipe(upstream).pipe(client);
  });
  const down = () => {
    // Not listening first, so that no connection comes in between.
    const closed = new Promise((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
    // destroy(), not resetAndDestroy(): with resets, Node 20 spun at full CPU at exit, in its
    // handle cleanup, once a polling client's connections had been reset.
    for (const { client, upstream } of pairs) {
      client.destroy();
      upstream.destroy();
    }
    pairs.clear();
    return closed;
  };
  const listenOn = (port) =>
    new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve(server.address().port);
      });
    });
  const port = await listenOn(0);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    down,
    up: () => listenOn(port).then(() => {}),
    stop: tracked(down),
  };
}

/**
 * Starts a bare HTTP server with `handler(req, res)`, for a fake Engine.IO server that misbehaves.
 * Resolves with `{ url, port, server, stop() }`, `server` being the `http.Server` (to handle
 * upgrades, say).
 */
export async function startHttp(handler) {
  const server = http.createServer(handler);
  const { url, port, close } = await listen(server);
  return { url, port, server, stop: tracked(close) };
}

/** Stops every Node server and proxy still running (for an `after` hook). */
export async function stopAll() {
  await Promise.all([...closers].map((stop) => stop()));
}
