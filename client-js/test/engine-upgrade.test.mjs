// The upgrade from long-polling or SSE to WebSocket: messages in flight both ways arrive
// once and in order; a probe that fails leaves the session where it was, silently.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, test } from "node:test";
import { closeSockets, connect, roundTrip, socket } from "./lib/engine.mjs";
import { WebSocketServer } from "ws";
import { startHttp, startNode, startProxy, startTidings } from "./lib/servers.mjs";
import { spy } from "./lib/spy.mjs";
import { next } from "./lib/wait.mjs";

afterEach(closeSockets);

const tick = () => new Promise((resolve) => setImmediate(resolve));

/**
 * Opens a session on `transports[0]` and, from the moment it opens until after it upgraded,
 * sends numbered messages (one per event-loop turn, so many are sent while the upgrade is
 * under way), plus `burst` (a command that makes the Tidings testbed send numbers) when given.
 * Resolves with what was sent and what came back once every echo (and the burst) arrived.
 */
async function sendAcrossUpgrade(url, transports, burst = 0) {
  const engine = socket(url, { transports });
  const upgraded = next(engine, "upgrade");
  const received = [];
  engine.on("message", (data) => received.push(data));
  await next(engine, "open");
  const openedOn = engine.transport;
  if (burst) engine.send(`burst:${burst}`);
  let sent = 0;
  let upgrading = true;
  upgraded.then(
    () => (upgrading = false),
    () => (upgrading = false),
  );
  while (upgrading) {
    engine.send(`m${sent++}`);
    await tick();
  }
  const [transport] = await upgraded;
  for (let i = 0; i < 100; i++) engine.send(`m${sent++}`);
  const expected = sent + burst;
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${received.length} of ${expected} messages`)), 10_000);
    const check = () => {
      if (received.length >= expected) {
        clearTimeout(timer);
        setImmediate(resolve); // anything extra (a duplicate) would be caught below
      }
    };
    engine.on("message", check);
    engine.on("close", (reason) => reject(new Error(`closed: ${reason}`)));
    check();
  });
  return { engine, openedOn, transport, sent, received };
}

function assertOnceInOrder({ sent, received }, burst) {
  const echoes = received.filter((data) => data.startsWith("m"));
  const numbers = received.filter((data) => /^\d+$/.test(data));
  assert.deepEqual(echoes, Array.from({ length: sent }, (_, i) => `m${i}`));
  assert.deepEqual(numbers, Array.from({ length: burst }, (_, i) => String(i)));
  assert.equal(received.length, sent + burst);
}

describe("Tidings", () => {
  let server;
  before(async () => {
    server = await startTidings("engineio-testbed", { PING_TIMEOUT: "3000" });
  });
  after(() => server.stop());

  for (const from of ["polling", "sse"]) {
    test(`upgrades from ${from} with messages in flight both ways`, async () => {
      const result = await sendAcrossUpgrade(server.url, [from, "websocket"], 2000);
      assert.equal(result.openedOn, from);
      assert.equal(result.transport, "websocket");
      assert.equal(result.engine.transport, "websocket");
      assert.ok(result.sent > 1, `only ${result.sent} messages were sent during the upgrade`);
      assertOnceInOrder(result, 2000);
      // The server agrees, and the session carries on.
      assert.equal(await roundTrip(result.engine, "transport"), "websocket");
    });
  }

  test("does not probe with upgrade: false, nor when websocket is not a transport", async () => {
    for (const options of [{ transports: ["polling", "websocket"], upgrade: false }, { transports: ["sse", "polling"] }]) {
      const record = spy();
      const engine = await connect(server.url, { ...options, WebSocket: record.WebSocket });
      assert.deepEqual(record.opened, []);
      assert.equal(await roundTrip(engine, "transport"), options.transports[0]);
    }
    // And it does probe otherwise, at once.
    const record = spy();
    await connect(server.url, { transports: ["polling", "websocket"], WebSocket: record.WebSocket });
    assert.equal(record.opened.length, 1);
    assert.match(record.opened[0], /^ws:\/\/127\.0\.0\.1:\d+\/engine\.io\/\?EIO=4&transport=websocket&sid=/);
  });

  for (const [how, options] of [
    ["is refused", { upgrade: "refuse" }],
    ["never gets an answer", { upgrade: "hang", timeout: 300 }],
  ]) {
    for (const from of ["polling", "sse"]) {
      test(`stays on ${from}, silently, when the probe ${how}`, async () => {
        const proxy = await startProxy(server.url, { upgrade: options.upgrade });
        try {
          const record = spy();
          const engine = await connect(proxy.url, {
            transports: [from, "websocket"],
            WebSocket: record.WebSocket,
            timeout: options.timeout ?? 10_000,
          });
          const events = [];
          engine.on("upgrade", () => events.push("upgrade"));
          engine.on("close", (reason) => events.push(`close: ${reason}`));
          // The probe failed and was given up.
          await record.until((r) => r.closed.length === 1);
          assert.equal(proxy.upgrades.length, 1);
          for (const text of ["one", "two", "three"]) assert.equal(await roundTrip(engine, text), text);
          assert.equal(await roundTrip(engine, "transport"), from);
          assert.equal(engine.transport, from);
          assert.deepEqual(events, []);
        } finally {
          closeSockets();
          await proxy.stop();
        }
      });
    }
  }
});

describe("Node engine.io", () => {
  let node;
  before(async () => {
    node = await startNode("engine.io");
    node.server.on("connection", (peer) => peer.on("message", (data) => peer.send(data)));
  });
  after(() => node.stop());

  test("upgrades from polling with messages in flight both ways", async () => {
    const seen = next(node.server, "connection");
    const result = await sendAcrossUpgrade(node.url, ["polling", "websocket"]);
    const [peer] = await seen;
    assert.equal(result.openedOn, "polling");
    assert.equal(result.transport, "websocket");
    assert.equal(peer.transport.name, "websocket");
    assertOnceInOrder(result, 0);
  });
});

describe("a probe that fails after its answer", () => {
  // A fake server: it answers the probe, then drops the WebSocket before the client could
  // send `5`, and ends the old transport's downstream with a noop only once the client has
  // given up the probe (a noop that came first would let the client switch to the dead
  // WebSocket). The client must carry on where it was: the polling loop goes on, the SSE stream
  // is reopened with the session id.
  const OPEN = `0${JSON.stringify({ sid: "fake", upgrades: ["websocket"], pingInterval: 25000, pingTimeout: 20000, maxPayload: 1e6 })}`;

  for (const transport of ["polling", "sse"]) {
    test(`${transport} carries on`, async () => {
      const record = spy();
      const posted = [];
      let postedAfter;
      const afterPosted = new Promise((resolve) => (postedAfter = resolve));
      const downstream = [];
      let pending; // the downstream that ends with a noop when the probe is dropped
      const fake = await startHttp((req, res) => {
        const sid = new URL(req.url, "http://x").searchParams.get("sid");
        if (req.method === "POST") {
          let body = "";
          req.on("data", (chunk) => (body += chunk)).on("end", () => {
            posted.push(body);
            res.end("ok");
            if (body === "4after") postedAfter();
          });
          return;
        }
        downstream.push(sid ? `GET sid=${sid}` : "GET");
        if (transport === "polling") {
          if (!sid) return res.end(OPEN);
          if (downstream.length === 2) return (pending = (payload) => res.end(payload));
          if (downstream.length === 3) res.end("4resumed");
          return; // later GETs wait, as on a quiet session
        }
        res.writeHead(200, { "content-type": "text/event-stream" });
        if (sid) return res.write("data: 4resumed\n\n");
        res.write(`data: ${OPEN}\n\n`);
        pending = (packet) => res.end(`data: ${packet}\n\n`);
      });
      const wss = new WebSocketServer({ noServer: true });
      fake.server.on("upgrade", (req, socket, head) =>
        wss.handleUpgrade(req, socket, head, (ws) => {
          ws.on("message", (data) => {
            if (String(data) !== "2probe") return;
            ws.send("3probe", () => ws.terminate());
          });
          ws.on("close", () => record.until((r) => r.closed.length === 1).then(() => pending("6")));
        }),
      );
      try {
        const engine = socket(fake.url, { transports: [transport, "websocket"], WebSocket: record.WebSocket });
        const events = [];
        engine.on("upgrade", () => events.push("upgrade"));
        engine.on("close", (reason) => events.push(`close: ${reason}`));
        const resumed = next(engine, "message");
        await next(engine, "open");
        assert.deepEqual(await resumed, ["resumed"]);
        assert.equal(engine.transport, transport);
        engine.send("after");
        await afterPosted;
        assert.deepEqual(posted, ["4after"]);
        // Polling: the handshake, the GET the noop ended, the next one. SSE: the handshake
        // stream, the reopened one.
        const expected = transport === "polling" ? ["GET", "GET sid=fake", "GET sid=fake"] : ["GET", "GET sid=fake"];
        assert.deepEqual(downstream.slice(0, expected.length), expected);
        assert.deepEqual(events, []);
      } finally {
        closeSockets();
        for (const client of wss.clients) client.terminate();
        wss.close();
        await fake.stop();
      }
    });
  }
});
