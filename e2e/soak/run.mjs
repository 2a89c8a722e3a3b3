// The soak: starts the Socket.IO test bed on 127.0.0.1 with an operator's limits, runs the
// normal clients (normal.mjs) alone, then with the attackers (chaos.mjs), then alone again,
// samples the server's memory, descriptors and CPU from /proc, and prints and writes the
// report (report.mjs). Exits 0 when the verdict passes, 1 when it fails, 2 on a usage error.
// Stops by itself and kills what it started, whatever happens. See `scripts/soak --help`.
import { spawn } from "node:child_process";
import { openSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import { parseArgs } from "./options.mjs";
import { render, verdict } from "./report.mjs";
import { binary, killedAtExit } from "../lib/server.mjs";

const here = path.dirname(new URL(import.meta.url).pathname);
const options = parseArgs(process.argv.slice(2));
const { settings, bounds, env } = options;

/** The server's resident memory, descriptors and CPU time (ms), from /proc. */
function sample(pid, at) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const rss = Number(status.match(/VmRSS:\s+(\d+) kB/)[1]) * 1024;
  const fds = readdirSync(`/proc/${pid}/fd`).length;
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const cpu = (Number(fields[11]) + Number(fields[12])) * 10;
  return { at, rss, fds, cpu };
}

const load = () => os.loadavg()[0];

/** Starts the test bed; resolves with its child process and port. */
function startServer(logFile) {
  const child = spawn(binary("socketio-testbed"), [], {
    env: { ...process.env, PORT: "0", ...env },
    stdio: ["ignore", "pipe", openSync(logFile, "w")],
  });
  killedAtExit(child);
  return new Promise((resolve, reject) => {
    let out = "";
    child.once("exit", (code) => reject(new Error(`the server exited with ${code}: see ${logFile}`)));
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const port = out.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/)?.[1];
      if (port) resolve({ child, port: Number(port) });
    });
  });
}

/** Waits `ms`, or less when `stop` (a promise) settles first. */
const pause = (ms, stop = new Promise(() => {})) =>
  Promise.race([new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))), stop]);

const logFile = path.join(os.tmpdir(), `tidings-soak-${process.pid}.log`);
const run = {
  command: options.command,
  server: "target/release/socketio-testbed",
  env,
  settings,
  bounds,
  startedAt: Date.now(),
  machine: `${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`,
  loads: [load()],
  samples: [],
  latency: [],
  broadcastLatency: [],
  unexpected: new Map(),
  ready: 0,
  log: { warn: 0, error: 0, panics: 0 },
};
const note = (what) => run.unexpected.set(what, (run.unexpected.get(what) ?? 0) + 1);
const say = (line) => process.stderr.write(`soak: ${((Date.now() - run.startedAt) / 1000).toFixed(1)} s: ${line}\n`);

// A soak that cannot end by itself is a failure too: give up at the duration plus a minute.
const watchdog = setTimeout(() => {
  say("the soak did not finish two minutes after its duration: giving up");
  process.exit(1);
}, settings.durationMs + 120_000);

const { child, port } = await startServer(logFile);
const epoch = Date.now();
let failed;
const failure = new Promise((resolve) => {
  failed = resolve;
});
child.removeAllListeners("exit");
child.once("exit", (code, signal) => {
  if (!run.stopping) {
    run.serverExit = `code ${code}, signal ${signal}`;
    failed();
  }
});
say(`server pid ${child.pid} on 127.0.0.1:${port}, log ${logFile}; running ${settings.durationMs / 1000} s`);

const sampleNow = () => {
  try {
    run.samples.push(sample(child.pid, Date.now() - epoch));
  } catch {
    // The server is gone: its exit is reported.
  }
};
const sampler = setInterval(sampleNow, settings.sampleMs);
sampleNow();

const url = `http://127.0.0.1:${port}`;
const normal = new Worker(path.join(here, "normal.mjs"), { workerData: { ...settings, url, epoch } });
let connected;
const ready = new Promise((resolve) => {
  connected = resolve;
});
const normalDone = new Promise((resolve) => {
  normal.on("message", (message) => {
    if (message.type === "latency") {
      for (const sample of message.samples) run.latency.push(sample);
      for (const sample of message.broadcastSamples) run.broadcastLatency.push(sample);
    } else if (message.type === "unexpected") note(message.what);
    else if (message.type === "ready") {
      run.ready = message.stats.connected;
      say(`${run.ready} normal clients connected`);
      connected();
    } else if (message.type === "normal-done") resolve(message);
  });
  normal.on("error", (error) => {
    note(`the normal clients' worker failed: ${error.message}`);
    connected();
    resolve(null);
  });
});

// The phases count from the moment every normal client is connected.
await Promise.race([ready, failure]);
const start = Date.now() - epoch;
const phases = {
  ready: start,
  chaos: start + options.phases.chaos,
  drain: start + options.phases.drain,
  end: start + settings.durationMs,
};
run.phases = phases;
/** How long until `offset` (ms after the server started). */
const until = (offset) => offset - (Date.now() - epoch);
const middle = setTimeout(() => run.loads.push(load()), settings.durationMs / 2);

await pause(until(phases.chaos), failure);
sampleNow();
run.beforeChaos = run.samples.at(-1);
say("chaos: the attackers start");
let chaosStopped = false;
// At a lower priority than the server and the normal clients, which share the machine with it.
const chaosSettings = JSON.stringify({ ...settings, port, until: epoch + phases.drain });
const chaos = spawn("nice", ["-n", "10", process.execPath, path.join(here, "chaos.mjs"), chaosSettings], {
  stdio: ["ignore", "inherit", "inherit", "ipc"],
});
killedAtExit(chaos);
const chaosDone = new Promise((resolve) => {
  chaos.on("message", (message) => {
    if (message.type === "chaos") run.chaos = message.kinds;
    else if (message.type === "chaos-done") resolve();
  });
  chaos.once("error", (error) => {
    note(`the attackers' process failed: ${error.message}`);
    resolve();
  });
  chaos.once("exit", (code) => {
    if (code !== 0 && !chaosStopped) note(`the attackers' process exited with code ${code}`);
    resolve();
  });
});
await pause(until(phases.drain), failure);
say("chaos over: the attackers finish their last rounds");
await Promise.race([chaosDone, pause(until(phases.end), failure)]);
chaosStopped = true;
// It may be gone already, done: a failed send is no matter.
if (chaos.connected) chaos.send("stop", () => {});
await pause(500);
chaos.kill("SIGKILL");
await pause(until(phases.end), failure);
// The connections of rounds cut short at the end close with the attackers' process: give
// the server a moment to see them go before the last sample.
await pause(3_000, failure);

clearInterval(sampler);
clearTimeout(middle);
sampleNow();
run.loads.push(load());
say("stopping the normal clients");
normal.postMessage("stop");
run.normal = await Promise.race([normalDone, pause(5_000).then(() => null)]);
await normal.terminate();
run.stopping = true;
say(`normal clients stopped${run.normal ? "" : " (no answer)"}; stopping the server`);
run.elapsed = Date.now() - epoch;
if (child.exitCode === null) {
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  child.kill("SIGTERM");
  const exit = await Promise.race([exited, pause(15_000).then(() => null)]);
  if (!exit) {
    child.kill("SIGKILL");
    note("the server did not exit within 15 s of SIGTERM");
  } else if (exit.code !== 0) note(`the server exited with code ${exit.code}, signal ${exit.signal} on SIGTERM`);
}
clearTimeout(watchdog);

// The server's log by message: its level, target and text, without the time and the fields.
const lines = readFileSync(logFile, "utf8").replace(/\x1b\[[0-9;]*m/g, "").split("\n");
const messages = {};
for (const line of lines.filter(Boolean)) {
  const message = line.replace(/^\S+Z\s+/, "").replace(/\s+\w+=\S+/g, "");
  messages[message] = (messages[message] ?? 0) + 1;
}
run.log = {
  messages: Object.entries(messages).sort((a, b) => b[1] - a[1]),
  warn: lines.filter((line) => / WARN /.test(line)).length,
  error: lines.filter((line) => / ERROR /.test(line)).length,
  panics: lines.filter((line) => /panicked/.test(line)).length,
};
if (run.log.panics > 0) note(`the server panicked ${run.log.panics} times (see ${logFile})`);
run.unexpected = [...run.unexpected];
for (const [kind, stats] of Object.entries(run.chaos ?? {})) {
  for (const [what, n] of Object.entries(stats.unexpected)) run.unexpected.push([`${kind}: ${what}`, n]);
}
const failures = verdict(run);
const report = render(run, failures);
process.stdout.write(`${report}\n`);
if (options.report) {
  writeFileSync(options.report, `${report}\n`);
  say(`report written to ${options.report}`);
}
process.exit(failures.length === 0 ? 0 : 1);
