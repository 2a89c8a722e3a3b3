// The engine socket over each transport: handshake, echo, binary, buffering, batching,
// against a Tidings server (websocket, polling, sse) and the official Node engine.io server
// (websocket, polling).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, afterEach, before, describe, test } from "node:test";
import { closeSockets, connect, roundTrip, socket } from "./lib/engine.mjs";
import { startNode, startTidings } from "./lib/servers.mjs";
import { messages, next } from "./lib/wait.mjs";

afterEach(closeSockets);

// Text that each transport must carry unchanged: UTF-8, a newline and a carriage return (SSE
// sends the latter as `event: json`), the record separator's neighbours, and nothing at all.
const TEXTS = ["hello", "héllo wörld ✓ 🎉", "two\nlines", "carriage\rreturn\r\n", "tab\tand \u001f", ""];

function transportSuite(name, transports, start) {
  describe(name, () => {
    let server;
    before(async () => {
      server = await start();
    });
    after(() => server.stop());

    for (const transport of transports) {
      describe(transport, () => {
        test("opens a session on it", async () => {
          const engine = await connect(server.url, { transports: [transport] });
          assert.equal(engine.readyState, "open");
          assert.equal(engine.transport, transport);
          assert.match(engine.id, /^[\w-]{16,}$/);
        });

        test("echoes text unchanged", async () => {
          const engine = await connect(server.url, { transports: [transport] });
          for (const text of TEXTS) assert.equal(await roundTrip(engine, text), text);
        });

        test("echoes binary as binary, small and large", async () => {
          const engine = await connect(server.url, { transports: [transport] });
          for (const bytes of [new Uint8Array([0, 1, 2, 255]), new Uint8Array(), new Uint8Array(randomBytes(200_000))]) {
            const echo = await roundTrip(engine, bytes);
            assert.ok(echo instanceof Uint8Array, `got ${typeof echo}`);
            assert.deepEqual([...echo], [...bytes]);
          }
        });

        test("sends what was sent before the session opened, in order", async () => {
          const engine = socket(server.url, { transports: [transport] });
          const sent = ["first", new Uint8Array([7]), "third"];
          for (const data of sent) engine.send(data);
          assert.equal(engine.readyState, "opening");
          const echoes = await messages(engine, 3);
          assert.deepEqual(echoes, ["first", new Uint8Array([7]), "third"]);
        });

        test("keeps the order of many messages sent at once", async () => {
          const engine = await connect(server.url, { transports: [transport] });
          const sent = Array.from({ length: 2000 }, (_, i) => (i % 100 === 0 ? new Uint8Array([i % 256]) : `m${i}`));
          const echoes = messages(engine, sent.length, { timeout: 20_000 });
          for (const data of sent) engine.send(data);
          assert.deepEqual(await echoes, sent);
        });
      });
    }
  });
}

const echo = (server) =>
  server.on("connection", (peer) => peer.on("message", (data) => peer.send(data)));

transportSuite("Tidings", ["websocket", "polling", "sse"], () => startTidings("engineio-testbed", { PING_TIMEOUT: "3000" }));

transportSuite("Node engine.io", ["websocket", "polling"], async () => {
  const node = await startNode("engine.io", { maxHttpBufferSize: 1e6 });
  echo(node.server);
  return node;
});

describe("the handshake", () => {
  test("carries options.query and reaches the server on options.path", async () => {
    const node = await startNode("engine.io", { path: "/custom/" });
    try {
      const seen = next(node.server, "connection");
      const engine = await connect(node.url, { path: "/custom", transports: ["polling"], query: { token: "abc", EIO: "3" } });
      const [peer] = await seen;
      assert.equal(peer.request._query.token, "abc");
      assert.equal(peer.request._query.EIO, "4");
      assert.equal(peer.id, engine.id);
    } finally {
      closeSockets();
      await node.stop();
    }
  });
});

describe("maxPayload", () => {
  test("splits the polling upstream into POSTs that fit it", async () => {
    // 40 messages of 300 bytes in one payload would be a 413 that closes the session.
    const server = await startTidings("engineio-testbed", { MAX_PAYLOAD: "1000", PING_TIMEOUT: "3000" });
    try {
      for (const transport of ["polling", "sse"]) {
        const engine = await connect(server.url, { transports: [transport] });
        const sent = Array.from({ length: 40 }, (_, i) => String(i).padEnd(300, "."));
        const echoes = messages(engine, sent.length);
        for (const data of sent) engine.send(data);
        assert.deepEqual(await echoes, sent, transport);
        assert.equal(engine.readyState, "open");
      }
    } finally {
      closeSockets();
      await server.stop();
    }
  });
});
