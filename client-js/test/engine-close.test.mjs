// How a session ends, and with which reason: "forced close", "transport close",
// "transport error", "parse error" ("ping timeout" is in engine-heartbeat). `close` is emitted
// exactly once, and nothing after it.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { WebSocketServer } from "ws";
import { closeSockets, connect, roundTrip, socket } from "./lib/engine.mjs";
import { startHttp, startNode, startTidings } from "./lib/servers.mjs";
import { next } from "./lib/wait.mjs";

afterEach(closeSockets);

/** Records every `close` of `engine` as `reason`. */
function closes(engine) {
  const reasons = [];
  engine.on("close", (reason) => reasons.push(reason));
  return reasons;
}

describe("Tidings", () => {
  let server;
  before(async () => {
    server = await startTidings("engineio-testbed", { PING_TIMEOUT: "3000" });
  });
  after(() => server.stop());

  for (const transport of ["websocket", "polling", "sse"]) {
    describe(transport, () => {
      test('close() emits "forced close", once', async () => {
        const engine = await connect(server.url, { transports: [transport] });
        const reasons = closes(engine);
        engine.close();
        assert.deepEqual(reasons, ["forced close"]);
        assert.equal(engine.readyState, "closed");
        engine.close();
        engine.send("ignored");
        assert.deepEqual(reasons, ["forced close"]);
      });

      test('the server closing the session is "transport close", once', async () => {
        const engine = await connect(server.url, { transports: [transport] });
        const reasons = closes(engine);
        engine.send("close");
        await next(engine, "close");
        assert.deepEqual(reasons, ["transport close"]);
        engine.close();
        assert.deepEqual(reasons, ["transport close"]);
      });

      test("close() while opening emits forced close, and the session never opens", async () => {
        const engine = socket(server.url, { transports: [transport] });
        let opened = false;
        engine.on("open", () => (opened = true));
        const reasons = closes(engine);
        engine.close();
        assert.deepEqual(reasons, ["forced close"]);
        // Another session's whole life on the same server: time for a handshake answer.
        const other = await connect(server.url, { transports: [transport] });
        assert.equal(await roundTrip(other, "x"), "x");
        assert.equal(opened, false);
        assert.equal(engine.readyState, "closed");
      });

      test("nothing is emitted after close(), even from the same payload", async () => {
        const engine = await connect(server.url, { transports: [transport] });
        let count = 0;
        engine.on("message", () => ++count === 10 && engine.close());
        engine.send("burst:1000");
        await next(engine, "close");
        const other = await connect(server.url, { transports: [transport] });
        assert.equal(await roundTrip(other, "x"), "x");
        assert.equal(count, 10);
      });
    });
  }
});

describe("the server goes away", () => {
  for (const [transport, expected] of [
    ["websocket", "transport close"],
    ["polling", "transport error"],
    ["sse", "transport error"],
  ]) {
    test(`over ${transport}: "${expected}"`, async () => {
      const server = await startTidings("engineio-testbed", { PING_TIMEOUT: "3000" });
      const engine = await connect(server.url, { transports: [transport] });
      const reasons = closes(engine);
      const closed = next(engine, "close");
      await server.exit("SIGKILL");
      await closed;
      assert.deepEqual(reasons, [expected]);
    });
  }
});

describe("Node engine.io", () => {
  let node;
  before(async () => {
    node = await startNode("engine.io");
  });
  after(() => node.stop());

  for (const transport of ["websocket", "polling"]) {
    test(`over ${transport}, close() still sends what was buffered, then closes the server's socket`, async () => {
      const seen = next(node.server, "connection");
      const engine = await connect(node.url, { transports: [transport] });
      const [peer] = await seen;
      const received = [];
      peer.on("message", (data) => received.push(data));
      const peerClosed = next(peer, "close");
      // The first goes out at once (a POST in flight, for polling); the others wait for it.
      for (const data of ["a", "b", "c"]) engine.send(data);
      engine.close();
      const [reason] = await peerClosed;
      assert.deepEqual(received, ["a", "b", "c"]);
      assert.equal(reason, "transport close");
    });
  }

  test('a close packet from the server is "transport close"', async () => {
    const seen = next(node.server, "connection");
    const engine = await connect(node.url, { transports: ["polling"] });
    const [peer] = await seen;
    const reasons = closes(engine);
    peer.close();
    await next(engine, "close");
    assert.deepEqual(reasons, ["transport close"]);
  });
});

describe("parse errors", () => {
  const OPEN = `0${JSON.stringify({ sid: "fake", upgrades: [], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1e6 })}`;

  for (const [what, payload] of [
    ["an unknown packet type", "4fine\x1e9what"],
    ["bad base64", "bAB!?"],
    ["an empty packet", "4fine\x1e"],
  ]) {
    test(`polling: ${what}`, async () => {
      const fake = await startHttp((req, res) => {
        if (req.method === "POST") return res.end("ok");
        res.end(new URL(req.url, "http://x").searchParams.has("sid") ? payload : OPEN);
      });
      try {
        const engine = socket(fake.url, { transports: ["polling"] });
        const reasons = closes(engine);
        await next(engine, "open");
        await next(engine, "close");
        assert.deepEqual(reasons, ["parse error"]);
      } finally {
        closeSockets();
        await fake.stop();
      }
    });
  }

  test("websocket: an unknown packet type, after the messages before it", async () => {
    const wss = new WebSocketServer({ host: "127.0.0.1", port: 0 });
    await new Promise((resolve) => wss.once("listening", resolve));
    wss.on("connection", (ws) => {
      ws.send(OPEN);
      ws.send("4one");
      ws.send("x");
      ws.send("4never");
    });
    try {
      const engine = socket(`http://127.0.0.1:${wss.address().port}`, { transports: ["websocket"] });
      const reasons = closes(engine);
      const got = [];
      engine.on("message", (data) => got.push(data));
      await next(engine, "close");
      assert.deepEqual(reasons, ["parse error"]);
      assert.deepEqual(got, ["one"]);
    } finally {
      for (const client of wss.clients) client.terminate();
      await new Promise((resolve) => wss.close(resolve));
    }
  });

  test('sse: an "event: json" that is not JSON', async () => {
    const fake = await startHttp((req, res) => {
      if (req.method === "POST") return res.end("ok");
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`data: ${OPEN}\n\ndata: 4a\n\nevent: json\ndata: "4b\\r"\n\nevent: json\ndata: nope\n\n`);
    });
    try {
      const engine = socket(fake.url, { transports: ["sse"] });
      const reasons = closes(engine);
      const got = [];
      engine.on("message", (data) => got.push(data));
      await next(engine, "close");
      assert.deepEqual(got, ["a", "b\r"]);
      assert.deepEqual(reasons, ["parse error"]);
    } finally {
      closeSockets();
      await fake.stop();
    }
  });
});

describe("close() over an HTTP transport", () => {
  // A server sees its downstream (the pending GET, the event stream) go as the client leaving,
  // and closes the session: so the client lets it go only after its last POST was answered.
  const OPEN = `0${JSON.stringify({ sid: "fake", upgrades: [], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1e6 })}`;

  for (const transport of ["polling", "sse"]) {
    test(`${transport}: the last POST goes while the downstream is still there`, async () => {
      const log = [];
      let logged;
      const done = new Promise((resolve) => (logged = resolve));
      const fake = await startHttp((req, res) => {
        const sid = new URL(req.url, "http://x").searchParams.get("sid");
        if (req.method === "POST") {
          let body = "";
          req.on("data", (chunk) => (body += chunk)).on("end", () => {
            log.push(`POST ${body}`);
            // Answered a little later, as by a busy server.
            setTimeout(() => res.end("ok"), 50);
          });
          return;
        }
        if (transport === "sse") {
          res.writeHead(200, { "content-type": "text/event-stream" });
          res.write(`data: ${OPEN}\n\n`);
        } else if (!sid) return res.end(OPEN);
        req.socket.once("close", () => {
          log.push("downstream gone");
          logged();
        });
      });
      try {
        const engine = await connect(fake.url, { transports: [transport] });
        engine.send("a");
        engine.send("b");
        engine.close();
        await done;
        assert.deepEqual(log, ["POST 4a", "POST 4b\x1e1", "downstream gone"]);
      } finally {
        await fake.stop();
      }
    });
  }
});
