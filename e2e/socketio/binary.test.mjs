// Binary data both ways with the official socket.io-client, for each transport mode and each
// parser: Buffers nested in objects and arrays keep their bytes and their places, whether the
// server passes them on untouched, reads them into Rust types, or builds them itself.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Inbox, MODES, PARSERS, ack, bytes, nextEvent, useSocketTestbed } from "../lib/socketio.mjs";

/** Arguments with binary at every depth, among other values. */
function nestedBinary() {
  return [
    Buffer.from([1, 2, 3]),
    { name: "file", content: Buffer.from("héllo"), empty: Buffer.alloc(0) },
    [Buffer.from([0xff]), { deeper: [Buffer.from([0, 0, 0]), "text"] }, 7],
    "plain",
    { big: Buffer.alloc(70_000, 0xab) },
  ];
}

for (const [parserName, parser] of Object.entries(PARSERS)) {
  describe(`socket.io binary (${parserName} parser)`, () => {
    const { server, clients } = useSocketTestbed(parser.env, parser.options);

    for (const [mode, transports] of Object.entries(MODES)) {
      it(`nested Buffers come back in place, in an ack and in an event (${mode})`, async () => {
        const socket = await clients.connect(server.url, "/", { transports });
        const sent = nestedBinary();
        const acked = await ack(socket, "echo", ...sent);
        assert.deepEqual(bytes(acked), bytes(sent));
        assert.ok(Buffer.isBuffer(acked[0]), "binary arrives as a Buffer, not as numbers");

        const back = nextEvent(socket, "emit-back");
        socket.emit("emit-back", ...sent);
        assert.deepEqual(bytes(await back), bytes(sent));
      });

      it(`the server reads Buffers into Rust types and builds nested binary (${mode})`, async () => {
        const socket = await clients.connect(server.url, "/", { transports });
        const upload = {
          name: "photo.png",
          content: Buffer.from([1, 2, 3, 4]),
          parts: [Buffer.from([5]), Buffer.from([6, 7])],
          meta: { thumb: Buffer.from([9, 9]) },
        };
        const [reply] = await ack(socket, "upload", upload);
        assert.deepEqual(bytes(reply), {
          name: "photo.png",
          sizes: [4, 1, 2],
          reversed: { bytes: [4, 3, 2, 1] },
          nested: { list: [{ bytes: [5, 6, 7] }], thumb: { bytes: [9, 9] } },
        });

        const [count, sizes] = await ack(socket, "bin-count", Buffer.from([1]), { a: [Buffer.alloc(5)] }, "x");
        assert.deepEqual([count, sizes], [2, [1, 5]], "the Bin extractor finds every attachment");
      });

      it(`binary crosses the server's emit with ack both ways (${mode})`, async () => {
        const socket = await clients.connect(server.url, "/", { transports });
        const questions = new Inbox(socket, "question", {
          reply: ([, data]) => [{ got: data.payload.length }, Buffer.from([7, 7]), [Buffer.from([8])]],
        });
        const target = { event: "question", timeout: 2_000 };
        const [error, answer] = await ack(socket, "server-ack", target, { payload: Buffer.from([1, 2, 3]) });
        assert.equal(error, null);
        assert.deepEqual(bytes(answer), [{ got: 3 }, { bytes: [7, 7] }, [{ bytes: [8] }]]);
        const [[, data]] = await questions.first(1);
        assert.deepEqual(bytes(data), { payload: { bytes: [1, 2, 3] } });
      });

      it(`binary broadcasts reach the room with their bytes (${mode})`, async () => {
        const room = `bin-${mode}`;
        const [a, b] = await Promise.all([
          clients.connect(server.url, "/", { transports }),
          clients.connect(server.url, "/", { transports }),
        ]);
        await ack(b, "join", room);
        const received = nextEvent(b, "file");
        const target = { to: [room], event: "file" };
        assert.deepEqual(await ack(a, "to-room", target, { blob: [Buffer.from([4, 2])] }), ["ok"]);
        const [sentTarget, data] = await received;
        assert.deepEqual(sentTarget, target);
        assert.deepEqual(bytes(data), { blob: [{ bytes: [4, 2] }] });
      });
    }
  });
}
