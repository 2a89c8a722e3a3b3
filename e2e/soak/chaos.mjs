// The soak's attackers, as a child process (run.mjs starts it at a lower priority, as if the
// attackers had machines of their own): every kind of attack runs in its own loops, round
// after round, until the end of the chaos phase; what the server answered is counted by kind.
// Its settings come as JSON in its one argument; it sends `{ type: "chaos", kinds }`
// snapshots to its parent, a last one on "stop", and `{ type: "chaos-done" }` when done.
import { reconnectPolling, reconnectWebSocket } from "./churn.mjs";
import { garbageBytes, garbageEngine, garbageHttp, garbageSocket } from "./garbage.mjs";
import { silentPolling, silentWebSocket, slowHead } from "./idle.mjs";
import { announcedAndStalled, flood, oversizeMessage, oversizePost } from "./limits.mjs";
import { connections } from "./raw.mjs";

/**
 * Every attack: its round, how many loops run it at once (before `--attackers` scales them),
 * and the pause between two rounds of a loop (ms). Loop `i` of kind `k` connects from the
 * loopback block `127.0.<k+1>.*`, at random, except the reconnects: each of their loops keeps
 * to one address, `127.0.<k+1>.<i+1>`, so that the handshake rate limit per address bites.
 */
export const ATTACKS = {
  "garbage bytes": { round: garbageBytes, loops: 2, pause: 20 },
  "garbage HTTP": { round: garbageHttp, loops: 2, pause: 20 },
  "garbage Engine.IO": { round: garbageEngine, loops: 2, pause: 20 },
  "garbage Socket.IO": { round: garbageSocket, loops: 2, pause: 20 },
  "oversize message": { round: oversizeMessage, loops: 1, pause: 50 },
  "oversize POST": { round: oversizePost, loops: 1, pause: 50 },
  "huge length, stalled": { round: announcedAndStalled, loops: 2, pause: 10 },
  "event flood": { round: flood, loops: 2, pause: 100 },
  "half-open WebSocket": { round: silentWebSocket, loops: 30, pause: 0 },
  "half-open polling": { round: silentPolling, loops: 30, pause: 0 },
  "silent TCP / slowloris": { round: slowHead, loops: 30, pause: 0 },
  "rapid reconnect WebSocket": { round: reconnectWebSocket, loops: 4, pause: 0 },
  "rapid reconnect polling": { round: reconnectPolling, loops: 2, pause: 0 },
};

/** What a kind's rounds saw so far. */
function newStats() {
  return { connections: 0, rounds: 0, outcomes: {}, unexpected: {}, timed: [] };
}

const count = (map, key) => {
  map[key] = (map[key] ?? 0) + 1;
};

/** Runs `kind`'s loops until `until` (a `Date.now()` time) or the stop. */
async function runKind(kind, attack, stats, settings) {
  const loops = Math.max(1, Math.round(attack.loops * settings.attackers));
  const block = Object.keys(ATTACKS).indexOf(kind) + 1;
  const ctx = (i) => ({
    ...settings,
    block,
    address: `127.0.${block}.${1 + (i % 250)}`,
    record: (outcome) => count(stats.outcomes, outcome),
    unexpected: (what) => count(stats.unexpected, what),
    timed: (ms) => stats.timed.push(Math.round(ms)),
  });
  const loop = async (i) => {
    const context = ctx(i);
    while (Date.now() < settings.until && !stopped) {
      try {
        await attack.round(context);
      } catch (error) {
        count(stats.outcomes, `client error: ${error.code ?? error.message}`);
      }
      stats.rounds += 1;
      if (attack.pause > 0) await new Promise((resolve) => setTimeout(resolve, attack.pause));
    }
  };
  await Promise.all(Array.from({ length: loops }, (_, i) => connections.run(stats, () => loop(i))));
}

let stopped = false;
const kinds = {};
for (const kind of Object.keys(ATTACKS)) kinds[kind] = newStats();
const settings = JSON.parse(process.argv[2]);
const report = () => process.send({ type: "chaos", kinds });
const timer = setInterval(report, 2_000);
process.on("message", (message) => {
  if (message === "stop") {
    stopped = true;
    clearInterval(timer);
    report();
  }
});
await Promise.all(Object.entries(ATTACKS).map(([kind, attack]) => runKind(kind, attack, kinds[kind], settings)));
clearInterval(timer);
report();
process.send({ type: "chaos-done" });
process.disconnect();
