// Text and binary messages both ways with the official engine.io-client, in every mode:
// awkward text, empty messages, large messages, Buffers, and order.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { MODES, RELAXED_HEARTBEAT, nextMessages, upgraded, useTestbed } from "../lib/engineio.mjs";

/** ~500 KB of text, with multi-byte characters at both ends and in the middle. */
const LARGE_TEXT = `é€😀${"abcdefghij".repeat(25_000)}\u2028${"klmnopqrst".repeat(25_000)}😀€é`;

/** ~500 KB of bytes covering every byte value. */
const LARGE_BINARY = Buffer.from(Array.from({ length: 500_000 }, (_, i) => (i * 7 + 3) % 256));

const TEXTS = [
  "hello",
  "",
  "line\u2028separator and paragraph\u2029separator",
  "emoji 😀, CJK 漢字, accents éàü, RTL שלום",
  "new\nline, carriage\rreturn, tab\t, NUL \u0000 end",
  '{"json":"looking","n":1}',
  "4 starts with a digit",
  "b starts like base64",
];

const BINARIES = [
  Buffer.from([0, 1, 2, 3, 254, 255]),
  Buffer.from("text in a buffer"),
  Buffer.from([0x1e, 0x1e]),
];

function assertBinary(received, sent, what) {
  assert.ok(Buffer.isBuffer(received), `${what}: expected a Buffer, got ${typeof received}`);
  assert.ok(received.equals(sent), `${what}: bytes differ`);
}

describe("echo with engine.io-client", () => {
  const { server, clients } = useTestbed(RELAXED_HEARTBEAT);

  for (const [mode, transports] of Object.entries(MODES)) {
    it(`echoes awkward text unchanged (${mode})`, async () => {
      const socket = await clients.open(server.url, transports);
      const echoes = nextMessages(socket, TEXTS.length);
      for (const text of TEXTS) socket.send(text);
      // An empty text travels as the bare packet `4`, which engine.io-parser decodes with
      // `data` undefined (it does so with the Node server too): count it as "".
      const received = (await echoes).map((data) => data ?? "");
      assert.deepEqual(received, TEXTS);
    });

    it(`echoes Buffers as binary (${mode})`, async () => {
      const socket = await clients.open(server.url, transports);
      const echoes = nextMessages(socket, BINARIES.length);
      for (const data of BINARIES) socket.send(data);
      const received = await echoes;
      BINARIES.forEach((sent, i) => assertBinary(received[i], sent, `binary ${i}`));
    });

    it(`echoes a ~500 KB text and a ~500 KB binary (${mode})`, async () => {
      const socket = await clients.open(server.url, transports);
      const echoes = nextMessages(socket, 2, { timeout: 10_000 });
      socket.send(LARGE_TEXT);
      socket.send(LARGE_BINARY);
      const [text, binary] = await echoes;
      assert.equal(typeof text, "string");
      assert.equal(text.length, LARGE_TEXT.length);
      assert.ok(text === LARGE_TEXT, "large text differs");
      assertBinary(binary, LARGE_BINARY, "large binary");
    });

    it(`keeps the order of interleaved text and binary (${mode})`, async () => {
      const socket = await clients.open(server.url, transports);
      const sent = Array.from({ length: 300 }, (_, i) =>
        i % 3 === 2 ? Buffer.from(`bin ${i}`) : `text ${i}`,
      );
      const echoes = nextMessages(socket, sent.length);
      // In three rounds, so the messages travel in several requests or frames.
      for (let round = 0; round < 3; round++) {
        for (const data of sent.slice(round * 100, round * 100 + 100)) socket.send(data);
        await new Promise((resolve) => setImmediate(resolve));
      }
      const received = await echoes;
      sent.forEach((data, i) => {
        if (typeof data === "string") assert.equal(received[i], data, `message ${i}`);
        else assertBinary(received[i], data, `message ${i}`);
      });
    });
  }

  it("echoes text and binary after the upgrade, on the WebSocket", async () => {
    const socket = await clients.open(server.url, MODES["polling then upgrade"]);
    await upgraded(socket);
    assert.equal(socket.transport.name, "websocket");
    const echoes = nextMessages(socket, 5, { timeout: 10_000 });
    socket.send("transport");
    socket.send("after upgrade \u2028");
    socket.send(BINARIES[0]);
    socket.send(LARGE_TEXT);
    socket.send(LARGE_BINARY);
    const [transport, text, binary, largeText, largeBinary] = await echoes;
    assert.equal(transport, "websocket", "the server says the session runs on websocket");
    assert.equal(text, "after upgrade \u2028");
    assertBinary(binary, BINARIES[0], "binary");
    assert.ok(largeText === LARGE_TEXT, "large text differs");
    assertBinary(largeBinary, LARGE_BINARY, "large binary");
  });
});
