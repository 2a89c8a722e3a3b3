// A private nginx in front of cluster nodes, with the configuration of examples/cluster.
//
// - startNginx(ports): renders examples/cluster/nginx.conf.template for the nodes on `ports`
//   and runs nginx on a free loopback port, in a folder of its own (pid, logs and temporary
//   files there), in the foreground and as one process, killed with the test process;
// - fromAddress(address): socket.io-client options that make a client's connections come
//   from another loopback address (127.0.0.2, 127.0.0.3, ...), so that nginx, which hashes the
//   client's address, can send different clients of one machine to different nodes.
//
// The system's nginx service, if any, is never used.
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { killedAtExit } from "./server.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** The nginx configuration the tests run, and examples/cluster/run too. */
export const TEMPLATE = path.join(root, "examples/cluster/nginx.conf.template");

/** The nginx binary: on PATH, or where Debian puts it (/usr/sbin is not on every PATH). */
const nginxBinary = [...(process.env.PATH ?? "").split(path.delimiter), "/usr/sbin", "/sbin"]
  .filter(Boolean)
  .map((dir) => path.join(dir, "nginx"))
  .find((candidate) => existsSync(candidate));

/**
 * Why the tests that need nginx cannot run here (no nginx binary), or null. In CI (`CI` set)
 * a missing nginx is an error, thrown when this module loads.
 */
export const nginxMissing = nginxBinary
  ? null
  : "nginx is not installed: run scripts/setup to install Debian's nginx";
if (nginxMissing && process.env.CI) throw new Error(nginxMissing);

/** How long nginx may take to accept connections (ms). */
const READY_TIMEOUT = 10_000;

/**
 * The configuration for nginx listening on `listen` (`host:port`) in front of the nodes on
 * `ports` (of 127.0.0.1): the template with its two placeholders filled in.
 */
export function renderConfig(listen, ports, template = TEMPLATE) {
  const nodes = ports.map((port) => `        server 127.0.0.1:${port};`).join("\n");
  return readFileSync(template, "utf8").replace("{{LISTEN}}", listen).replace("{{NODES}}", nodes);
}

/** A loopback port nobody listens on right now. */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** Resolves true once 127.0.0.1:`port` accepts a connection, false if it refused it. */
function accepts(port) {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Runs nginx with the configuration in `dir` and resolves with the child once it accepts
 * connections on `port`. Rejects with `error.inUse` set when the port was taken.
 */
async function spawnNginx(dir, port) {
  // Foreground and a single process, so that the child is all of nginx and killing it (even
  // with SIGKILL) stops it. `-e stderr` is for what it logs before it reads the file.
  const args = ["-p", `${dir}/`, "-c", path.join(dir, "nginx.conf"), "-e", "stderr"];
  args.push("-g", "daemon off; master_process off;");
  const child = spawn(nginxBinary, args, { stdio: ["ignore", "pipe", "pipe"] });
  killedAtExit(child);
  let out = "";
  child.stdout.on("data", (chunk) => (out += chunk));
  child.stderr.on("data", (chunk) => (out += chunk));
  const log = () => {
    const file = path.join(dir, "error.log");
    return out + (existsSync(file) ? readFileSync(file, "utf8") : "");
  };
  let exited = null;
  child.once("exit", (code, signal) => (exited = code ?? signal));

  const deadline = Date.now() + READY_TIMEOUT;
  for (;;) {
    if (exited !== null || Date.now() > deadline) {
      child.kill("SIGKILL");
      const why = exited !== null ? `exited (${exited})` : `was not ready within ${READY_TIMEOUT} ms`;
      const error = new Error(`nginx on port ${port} ${why}: ${log()}`);
      error.inUse = /Address already in use/.test(log());
      throw error;
    }
    if (await accepts(port)) return child;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Starts nginx in front of the nodes listening on 127.0.0.1:`ports`, on a free loopback port,
 * and resolves once it accepts connections, with `{ url, port, pid, dir, errorLog(), stop() }`:
 * `url` is `http://127.0.0.1:PORT`; `dir` is its folder (configuration, pid, logs);
 * `errorLog()` reads its error log; `stop()` kills it and removes the folder.
 */
export async function startNginx(ports, { template = TEMPLATE } = {}) {
  if (nginxMissing) throw new Error(nginxMissing);
  const dir = mkdtempSync(path.join(os.tmpdir(), "tidings-nginx-"));
  // Run as root, nginx writes its temporary files as an unprivileged user: let it in.
  chmodSync(dir, 0o755);
  let child;
  let port;
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    writeFileSync(path.join(dir, "nginx.conf"), renderConfig(`127.0.0.1:${port}`, ports, template));
    try {
      child = await spawnNginx(dir, port);
      break;
    } catch (error) {
      if (!error.inUse || attempt === 5) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
    }
  }
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    dir,
    errorLog() {
      const file = path.join(dir, "error.log");
      return existsSync(file) ? readFileSync(file, "utf8") : "";
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((resolve) => child.once("exit", resolve));
        child.kill("SIGKILL");
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * socket.io-client options under which every connection of the client (long-polling requests
 * and WebSocket alike) comes from `address`, a loopback address such as `127.0.0.2` (Linux
 * answers on all of 127.0.0.0/8).
 */
export function fromAddress(address) {
  return { localAddress: address, agent: new http.Agent({ localAddress: address }) };
}
