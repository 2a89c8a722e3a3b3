// No leaks under churn: many short-lived connections (raw WebSockets that open an Engine.IO
// session, connect to namespace `/`, and close) leave no session, no socket and no memory
// behind.
//
// Bounded in count and in time: 100,000 cycles, 64 at a time, within 80 s. They take about
// 40 s against the debug build on a 2-core machine (about 2,500 cycles/s, the server and this
// process sharing both cores); the suite gives each file 120 s (`--test-timeout` in package.json).
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ack, useSocketTestbed } from "../lib/socketio.mjs";
import { RawSocket, memory, mib } from "../lib/rawsocket.mjs";

const CYCLES = 100_000;
const TIME_BUDGET = 80_000;
const WARM_UP = 2_000;
const IN_FLIGHT = 64;
/**
 * How much the server's memory may stay above its baseline once the churn is over: a leak of
 * 50 bytes per cycle over 100,000 cycles would show. (Measured: +0.2 MiB.)
 */
const MARGIN = 4 * 1024 * 1024;

/**
 * Runs up to `count` connect-and-close cycles, `IN_FLIGHT` at a time, starting no new one
 * after `budget` ms; resolves with how many were done.
 */
async function churn(url, count, budget = Infinity) {
  const until = performance.now() + budget;
  let started = 0;
  const worker = async () => {
    while (started < count && performance.now() < until) {
      started++;
      const socket = await RawSocket.open(url, { timeout: 10_000 });
      await socket.close();
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  return started;
}

describe("churn", () => {
  const { server, clients } = useSocketTestbed({
    // The testbed lists every disconnection for `reasons`; here that list would grow.
    KEEP_REASONS: "100",
  });

  it("100,000 connections come and go without leaving anything behind", { timeout: 90_000 }, async () => {
    const observer = await clients.connect(server.url, "/", { transports: ["websocket"] });
    /** The sessions and sockets of `/` besides the observer's own. */
    const stats = async () => (await ack(observer, "stats"))[0];

    await churn(server.url, WARM_UP);
    const baseline = memory(server.pid).rss;

    const started = performance.now();
    const cycles = await churn(server.url, CYCLES, TIME_BUDGET);
    const took = performance.now() - started;

    // The last closes may still be on their way: wait until the server saw them all.
    let left = await stats();
    for (let tries = 0; (left.sessions || left.sockets) && tries < 100; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      left = await stats();
    }
    assert.deepEqual(left, { sessions: 0, sockets: 0 });

    const rss = memory(server.pid).rss;
    console.log(
      `churn: ${cycles} cycles in ${Math.round(took)} ms ` +
        `(${Math.round(cycles / (took / 1000))}/s); RSS ${mib(baseline)} MiB before, ` +
        `${mib(rss)} MiB after (margin +${mib(MARGIN)} MiB)`,
    );
    assert.equal(cycles, CYCLES, `only ${cycles} cycles in ${TIME_BUDGET} ms`);
    assert.ok(rss - baseline < MARGIN, `the server grew by ${mib(rss - baseline)} MiB`);
  });
});
