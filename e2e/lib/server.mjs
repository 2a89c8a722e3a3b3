// Starts a Tidings example binary (or a Node server script) on a free loopback port and stops
// it after the test.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

// Processes still running when this process ends (a test file that timed out is sent
// SIGTERM) are killed with it. Servers' stderr goes through this process, so that a server
// left behind never holds the test runner's output open.
const running = new Set();
const killAll = () => running.forEach((child) => child.kill("SIGKILL"));
process.once("exit", killAll);
for (const signal of ["SIGTERM", "SIGINT"]) {
  process.once(signal, () => {
    killAll();
    process.exit(1);
  });
}

/** Kills `child` with this process, unless it exited first. */
export function killedAtExit(child) {
  running.add(child);
  child.once("exit", () => running.delete(child));
  return child;
}

/** The path of a binary built by `cargo build --workspace --bins` (debug, or release). */
export function binary(name) {
  for (const profile of [process.env.TIDINGS_PROFILE ?? "debug", "release"]) {
    const candidate = path.join(root, "target", profile, name);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`${name} is not built: run \`cargo build --workspace --bins\` first`);
}

/**
 * Starts `name` with `env` and resolves once it prints where it listens.
 * Returns `{ pid, url, port, stop, exit }`; `url` is `http://127.0.0.1:PORT`. `exit(signal)`
 * sends `signal` (SIGTERM by default) and resolves with `{ code, signal }` once the process
 * has exited; `stop()` is `exit("SIGTERM")` without the result.
 */
export function startServer(name, env = {}) {
  return launch(name, binary(name), [], env);
}

/**
 * Like `startServer`, for a Node script (a path) that prints the same
 * `listening on http://127.0.0.1:PORT` line: runs it with this process's `node`.
 */
export function startNodeServer(script, env = {}) {
  return launch(path.basename(script), process.execPath, [script], env);
}

function launch(name, command, args, env) {
  const child = spawn(command, args, {
    env: { ...process.env, PORT: "0", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  killedAtExit(child);
  child.stderr.pipe(process.stderr);
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${name} did not say where it listens: ${out}`));
    }, 10_000);
    child.on("exit", (code) => reject(new Error(`${name} exited with ${code}: ${out}`)));
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const match = out.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/);
      if (!match) return;
      clearTimeout(timer);
      const port = Number(match[1]);
      const exit = (signal = "SIGTERM") =>
        new Promise((done) => {
          if (child.exitCode !== null || child.signalCode !== null) {
            done({ code: child.exitCode, signal: child.signalCode });
            return;
          }
          child.removeAllListeners("exit");
          child.once("exit", (code, signal) => {
            running.delete(child);
            done({ code, signal });
          });
          child.kill(signal);
        });
      resolve({
        pid: child.pid,
        port,
        url: `http://127.0.0.1:${port}`,
        exit,
        stop: async () => {
          await exit("SIGTERM");
        },
      });
    });
  });
}
