// The heartbeat: the client answers every ping, and declares the session dead ("ping
// timeout") when the server says nothing for pingInterval + pingTimeout.
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { WebSocketServer } from "ws";
import { closeSockets, connect, roundTrip } from "./lib/engine.mjs";
import { startTidings } from "./lib/servers.mjs";
import { spy } from "./lib/spy.mjs";
import { messages, next } from "./lib/wait.mjs";

afterEach(closeSockets);

const pongs = (record) => record.sent.filter((packet) => packet === "3").length;

for (const transport of ["websocket", "polling", "sse"]) {
  describe(transport, () => {
    test("answers every ping, so the session outlives many ping intervals", async () => {
      // The server closes a session whose pong is 150 ms late; pings come every 50 ms.
      const server = await startTidings("engineio-testbed", { PING_INTERVAL: "50", PING_TIMEOUT: "150" });
      try {
        const record = spy();
        const engine = await connect(server.url, { transports: [transport], WebSocket: record.WebSocket, fetch: record.fetch });
        await record.until((r) => pongs(r) >= 10);
        assert.equal(engine.readyState, "open");
        assert.equal(await roundTrip(engine, "still here"), "still here");
      } finally {
        await server.stop();
      }
    });

    test('closes with "ping timeout" when the server goes silent', async () => {
      const server = await startTidings("engineio-testbed", { PING_INTERVAL: "100", PING_TIMEOUT: "100" });
      try {
        const engine = await connect(server.url, { transports: [transport] });
        const closed = next(engine, "close");
        const since = Date.now();
        server.signal("SIGSTOP");
        const [reason] = await closed;
        const silence = Date.now() - since;
        assert.equal(reason, "ping timeout");
        assert.equal(engine.readyState, "closed");
        // pingInterval + pingTimeout after the last packet, which came before the SIGSTOP.
        assert.ok(silence >= 50 && silence <= 200 + 1000, `closed after ${silence} ms`);
      } finally {
        server.signal("SIGCONT");
        await server.stop();
      }
    });
  });
}

test("any packet from the server counts as a sign of life", async () => {
  // A fake server that opens a session with a 200 ms deadline (pingInterval + pingTimeout),
  // never pings, but sends a message every 50 ms for a while, then goes quiet.
  const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  await new Promise((resolve) => wss.once("listening", resolve));
  let talking = true;
  wss.on("connection", (ws) => {
    ws.send(`0${JSON.stringify({ sid: "fake", upgrades: [], pingInterval: 100, pingTimeout: 100, maxPayload: 1e6 })}`);
    const timer = setInterval(() => talking && ws.send("4tick"), 50);
    ws.on("close", () => clearInterval(timer));
  });
  try {
    const engine = await connect(`http://127.0.0.1:${wss.address().port}`, { transports: ["websocket"] });
    // 20 ticks take about a second, five deadlines: each message pushes the deadline back.
    await messages(engine, 20);
    assert.equal(engine.readyState, "open");
    const closed = next(engine, "close");
    talking = false;
    const quiet = Date.now();
    const [reason] = await closed;
    assert.equal(reason, "ping timeout");
    assert.ok(Date.now() - quiet < 1000, `closed ${Date.now() - quiet} ms after the last message`);
  } finally {
    for (const client of wss.clients) client.terminate();
    await new Promise((resolve) => wss.close(resolve));
  }
});
