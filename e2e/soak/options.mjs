// The soak's command line: how long, how many clients and attackers, the bounds of the
// verdict, and the server's limits (the environment of the test bed).

export const USAGE = `Usage: scripts/soak [options]

  --duration <time>        how long the whole run takes: 30s, 10m, 1h (default 10m)
  --report <path>          also write the report (markdown) there
  --clients <n>            normal clients (default 200; a third each over WebSocket,
                           long-polling, and long-polling upgraded to WebSocket)
  --attackers <x>          scales the number of attacker loops of every kind (default 1)
  --echo-ms <ms>           each normal client emits echo this often (default 1000)
  --max-p99-ms <ms>        fails when the normal clients' p99 under chaos is above (default 500)
  --max-rss-mib <mib>      fails when the server's RSS goes above (default 256)
  --max-growth-mib <mib>   fails when RSS at the end is above RSS before the chaos by more
                           (default 32)
  --sample-ms <ms>         how often the server's RSS, descriptors and CPU are read (default 5000)

The normal clients run alone for the first 10% (5 to 60 s), then with the attackers, then
alone again for the last 5% (12 to 45 s). Exits 0 when the verdict passes, 1 when not.`;

/** `30s`, `10m`, `1h` or milliseconds, in milliseconds. */
function duration(text) {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text);
  if (!match) throw new Error(`not a duration: ${text}`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] ?? "ms"];
  return Math.round(Number(match[1]) * unit);
}

const clamp = (value, low, high) => Math.min(high, Math.max(low, value));

/** The soak's settings from its arguments; prints the usage and exits on `--help` or an error. */
export function parseArgs(args) {
  const given = {};
  for (let i = 0; i < args.length; i++) {
    const name = args[i].replace(/^--/, "");
    if (name === "help" || name === "h") {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    if (!args[i].startsWith("--") || i + 1 >= args.length) {
      process.stderr.write(`soak: unexpected argument ${args[i]}\n\n${USAGE}\n`);
      process.exit(2);
    }
    given[name] = args[++i];
  }
  const number = (name, fallback) => {
    const value = Number(given[name] ?? fallback);
    if (!Number.isFinite(value) || value < 0) {
      process.stderr.write(`soak: --${name} must be a number\n`);
      process.exit(2);
    }
    return value;
  };
  let durationMs;
  try {
    durationMs = duration(given.duration ?? "10m");
  } catch (error) {
    process.stderr.write(`soak: ${error.message}\n`);
    process.exit(2);
  }
  if (durationMs < 20_000) {
    process.stderr.write("soak: --duration must be 20s or more\n");
    process.exit(2);
  }
  // The server's limits, as an operator would set them for this load.
  const env = {
    PING_INTERVAL: "5000",
    PING_TIMEOUT: "5000",
    CONNECT_TIMEOUT: "10000",
    MAX_PAYLOAD: "100000",
    MAX_CONNECTIONS: "2000",
    HANDSHAKE_RATE: "20/10",
    EVENT_RATE: "20/100/disconnect",
    KEEP_REASONS: "100",
    RUST_LOG: "warn",
  };
  const settings = {
    durationMs,
    clients: Math.round(number("clients", 200)),
    attackers: number("attackers", 1),
    echoEveryMs: number("echo-ms", 1000),
    broadcastEveryMs: 1000,
    rooms: 10,
    connectEveryMs: 15,
    sampleMs: number("sample-ms", 5000),
    maxPayload: Number(env.MAX_PAYLOAD),
    heartbeatMs: Number(env.PING_INTERVAL) + Number(env.PING_TIMEOUT),
    floodSize: 200,
  };
  const phases = {
    chaos: clamp(durationMs * 0.1, 5_000, 60_000),
    drain: durationMs - clamp(durationMs * 0.05, 12_000, 45_000),
  };
  const bounds = {
    p99Ms: number("max-p99-ms", 500),
    rssMib: number("max-rss-mib", 256),
    growthMib: number("max-growth-mib", 32),
    fdSlack: 10,
  };
  const command = ["scripts/soak", ...args].join(" ");
  return { settings, bounds, env, phases, command, report: given.report };
}
