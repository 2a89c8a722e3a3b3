// Compression with real clients: permessage-deflate with the official socket.io-client (which
// offers it through `ws`) and without it, large and small messages, binary, both directions
// and broadcasts to compressed and uncompressed clients at once; a raw `ws` client sending a
// deflate bomb, RSV1 without the extension and RSV1 on a ping; long-polling with and without
// `Accept-Encoding: gzip`.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { gunzipSync } from "node:zlib";
import WebSocket from "ws";
import { ack, bytes, nextEvent, useSocketTestbed } from "../lib/socketio.mjs";
import { wsUrl } from "../lib/rawsocket.mjs";

/** Chat-like JSON records of about `size` bytes in all. */
function records(size) {
  const list = [];
  for (let i = 0; JSON.stringify(list).length < size; i++) {
    list.push({ id: i, user: `user${i % 17}`, text: `hello there, number ${i}`, ts: 1_700_000_000 + i * 7 });
  }
  return list;
}

/** The underlying `ws` WebSocket of a socket.io-client socket on the websocket transport. */
function wsOf(socket) {
  return socket.io.engine.transport.ws;
}

/** Resolves with the close code of `ws`. */
function closeCode(ws) {
  return new Promise((resolve) => ws.once("close", (code) => resolve(code)));
}

describe("permessage-deflate with socket.io-client", () => {
  const { server, clients } = useSocketTestbed({ PER_MESSAGE_DEFLATE: "1024" });
  const websocket = { transports: ["websocket"] };

  it("negotiates it with clients that offer it, and not with the others", async () => {
    const on = await clients.connect(server.url, "/", websocket);
    assert.equal(wsOf(on).extensions, "permessage-deflate");
    // What `ws` accepted from the server's answer.
    const { params } = wsOf(on)._extensions["permessage-deflate"];
    assert.deepEqual({ ...params }, { server_no_context_takeover: true, client_no_context_takeover: true });
    const off = await clients.connect(server.url, "/", { ...websocket, perMessageDeflate: false });
    assert.equal(wsOf(off).extensions, "");
  });

  it("large and small messages and binary come back intact, both directions", async () => {
    const socket = await clients.connect(server.url, "/", websocket);
    const sent = [records(20_000), "small", Buffer.alloc(50_000, 7), { nested: Buffer.from([1, 2, 3]) }];
    const before = wsOf(socket)._socket.bytesRead;
    const acked = await ack(socket, "echo", ...sent);
    assert.deepEqual(bytes(acked), bytes(sent));
    const read = wsOf(socket)._socket.bytesRead - before;
    assert.ok(read < 20_000, `the echo of 70 KB of compressible data took ${read} bytes`);
    const tiny = await ack(socket, "echo", "x");
    assert.deepEqual(tiny, ["x"]);
  });

  it("a broadcast reaches compressed and uncompressed clients alike", async () => {
    const sender = await clients.connect(server.url, "/", websocket);
    const receivers = [];
    for (const perMessageDeflate of [undefined, false, undefined, false]) {
      const options = perMessageDeflate === undefined ? websocket : { ...websocket, perMessageDeflate };
      const socket = await clients.connect(server.url, "/", options);
      await ack(socket, "join", "compressed-room");
      receivers.push(socket);
    }
    const data = records(30_000);
    const before = receivers.map((s) => wsOf(s)._socket.bytesRead);
    const arrivals = receivers.map((s) => nextEvent(s, "news"));
    assert.deepEqual(await ack(sender, "to-room", { to: ["compressed-room"], event: "news" }, data), ["ok"]);
    for (const [, got] of await Promise.all(arrivals)) assert.deepEqual(got, data);
    const read = receivers.map((s, i) => wsOf(s)._socket.bytesRead - before[i]);
    assert.ok(read[0] < 10_000 && read[2] < 10_000, `compressed clients read ${read}`);
    assert.ok(read[1] > 30_000 && read[3] > 30_000, `uncompressed clients read ${read}`);
  });
});

describe("permessage-deflate with a raw client", () => {
  const { server } = useSocketTestbed({ PER_MESSAGE_DEFLATE: "1024", MAX_PAYLOAD: "100000" });

  it("closes a deflate bomb with 1009", async () => {
    const ws = new WebSocket(wsUrl(server.url), { perMessageDeflate: { threshold: 0 } });
    await nextEvent(ws, "open");
    assert.match(ws.extensions, /permessage-deflate/);
    const closed = closeCode(ws);
    // 5 MB of zeros compress to a few KB, within the 100 KB frame limit.
    ws.send(`4${"0".repeat(5_000_000)}`);
    assert.equal(await closed, 1009);
  });

  for (const [what, frame, extensions] of [
    ["RSV1 without the extension", [0xc1, 0x80, 0, 0, 0, 0], undefined],
    ["RSV1 on a ping", [0xc9, 0x80, 0, 0, 0, 0], "permessage-deflate"],
  ]) {
    it(`closes ${what} with 1002`, async () => {
      const url = new URL(wsUrl(server.url));
      const socket = net.connect(Number(url.port), "127.0.0.1");
      await nextEvent(socket, "connect");
      socket.write(
        `GET ${url.pathname}${url.search} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n` +
          (extensions ? `Sec-WebSocket-Extensions: ${extensions}\r\n` : "") +
          "\r\n",
      );
      let received = Buffer.alloc(0);
      const closeFrame = new Promise((resolve, reject) => {
        socket.on("data", (chunk) => {
          received = Buffer.concat([received, chunk]);
          const at = received.indexOf("\r\n\r\n");
          if (at < 0) return;
          // Frames after the 101: the open packet, then the close frame.
          let rest = received.subarray(at + 4);
          while (rest.length >= 2) {
            const len = rest[1] & 0x7f;
            if (rest.length < 2 + len) return;
            if ((rest[0] & 0x0f) === 0x8) return resolve(rest.readUInt16BE(2));
            rest = rest.subarray(2 + len);
          }
        });
        socket.once("close", () => reject(new Error("closed without a close frame")));
      });
      await new Promise((resolve) => setTimeout(resolve, 50));
      socket.write(Buffer.from(frame));
      assert.equal(await closeFrame, 1002);
      socket.destroy();
    });
  }
});

describe("gzip of long-polling responses", () => {
  const { server } = useSocketTestbed({});

  async function pollWith(headers) {
    const base = `${server.url}/socket.io/?EIO=4&transport=polling`;
    const open = await fetch(base);
    const sid = JSON.parse((await open.text()).slice(1)).sid;
    // CONNECT, then an event whose ack is a large payload.
    await fetch(`${base}&sid=${sid}`, { method: "POST", body: "40" });
    await fetch(`${base}&sid=${sid}`);
    const data = JSON.stringify(records(5_000));
    await fetch(`${base}&sid=${sid}`, { method: "POST", body: `421["echo",${data}]` });
    // `fetch` would inflate on its own: read the raw bytes with node:http instead.
    const { get } = await import("node:http");
    return new Promise((resolve, reject) => {
      get(`${base}&sid=${sid}`, { headers }, (response) => {
        const chunks = [];
        response.on("data", (c) => chunks.push(c));
        response.on("end", () => resolve({ response, body: Buffer.concat(chunks), data }));
      }).on("error", reject);
    });
  }

  it("gzips a large response for a client that accepts it", async () => {
    const { response, body, data } = await pollWith({ "accept-encoding": "gzip, deflate" });
    assert.equal(response.headers["content-encoding"], "gzip");
    assert.equal(response.headers.vary, "Accept-Encoding");
    assert.ok(body.length < data.length / 3, `${body.length} bytes`);
    assert.equal(gunzipSync(body).toString(), `431[${data}]`);
  });

  it("sends it in clear to a client that does not", async () => {
    const { response, body, data } = await pollWith({});
    assert.equal(response.headers["content-encoding"], undefined);
    assert.equal(body.toString(), `431[${data}]`);
  });
});
