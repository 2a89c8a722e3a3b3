// Slow consumers: clients that stop reading while the server floods them are closed as
// "slow client" once their queue reaches MAX_QUEUED_BYTES, the server's memory stays bounded
// however much is offered, and a normal client on the same server keeps its round trips fast.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Watcher, ack, useSocketTestbed } from "../lib/socketio.mjs";
import { RawSocket, memory, mib } from "../lib/rawsocket.mjs";

/** The queue bound the server runs with. */
const MAX_QUEUED_BYTES = 1024 * 1024;
/** How many clients stop reading, and how large each event of their flood is. */
const SLOW_CLIENTS = 4;
const FLOOD_EVENT = 64 * 1024;
/**
 * What the server's peak memory may grow by. Each slow client holds at most its queue (1 MiB)
 * and the batch its connection took and cannot write (about as much) on the server; without
 * the bound the flood never stops and memory grows without limit. (Measured: +4 MiB.)
 */
const MEMORY_BOUND = 32 * 1024 * 1024;
/** How often the normal client does an echo round trip (ms), and its p99 bound (ms). */
const ECHO_EVERY = 5;
const P99_BOUND = 100;

describe("slow clients", () => {
  const { server, clients } = useSocketTestbed({
    MAX_QUEUED_BYTES: String(MAX_QUEUED_BYTES),
    // No heartbeat in the way: the slow clients cannot answer pings while paused, and only
    // the queue bound may close them here.
    PING_INTERVAL: "25000",
    PING_TIMEOUT: "20000",
  });

  it("closes clients that stop reading, in bounded memory, without slowing the others", async () => {
    const normal = await clients.connect(server.url, "/", { transports: ["websocket"] });
    const watch = new Watcher(normal);
    assert.deepEqual(await ack(normal, "watch"), ["ok"]);
    // Warm up: a few round trips and a connection that comes and goes.
    for (let i = 0; i < 20; i++) await ack(normal, "echo", i);
    await (await RawSocket.open(server.url)).close();
    const baseline = memory(server.pid).rss;

    // The normal client's round trips, every few ms, for as long as the floods last.
    const latencies = [];
    let echoing = true;
    const echoes = (async () => {
      for (let i = 0; echoing; i++) {
        const started = performance.now();
        assert.deepEqual(await ack(normal, "echo", i), [i]);
        latencies.push(performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, ECHO_EVERY));
      }
    })();

    const slow = [];
    for (let i = 0; i < SLOW_CLIENTS; i++) {
      const socket = await RawSocket.open(server.url);
      socket.emit("flood", FLOOD_EVENT);
      // From here on it reads nothing: the server's writes stall once the socket buffers
      // are full, and its flood goes into the session's queue.
      socket.pause();
      slow.push(socket);
    }
    const reasons = await Promise.all(
      slow.map((socket) => watch.reasonOf(socket.id, { timeout: 20_000 })),
    );
    echoing = false;
    await echoes;
    const peak = memory(server.pid).peak;
    for (const socket of slow) socket.ws.terminate();

    assert.deepEqual(reasons, Array(SLOW_CLIENTS).fill("slow client"));
    const grown = peak - baseline;
    console.log(
      `slow clients: baseline ${mib(baseline)} MiB, peak ${mib(peak)} MiB ` +
        `(+${mib(grown)} MiB, bound +${mib(MEMORY_BOUND)} MiB)`,
    );
    assert.ok(grown < MEMORY_BOUND, `the server grew by ${mib(grown)} MiB`);

    latencies.sort((a, b) => a - b);
    const p99 = latencies[Math.floor(latencies.length * 0.99)];
    console.log(
      `normal client: ${latencies.length} round trips, p50 ${latencies[latencies.length >> 1].toFixed(1)} ms, ` +
        `p99 ${p99.toFixed(1)} ms, max ${latencies.at(-1).toFixed(1)} ms`,
    );
    assert.ok(latencies.length >= 10, `only ${latencies.length} round trips`);
    assert.ok(p99 < P99_BOUND, `p99 round trip ${p99.toFixed(1)} ms`);
    // The normal client is still connected and served.
    assert.deepEqual(await ack(normal, "echo", "still here"), ["still here"]);
  });
});
