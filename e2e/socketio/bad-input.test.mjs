// Clients that break the Socket.IO protocol, for each transport mode: a bare engine.io-client
// sends malformed packets by hand, and the server closes that connection (its socket goes
// with "parse error") while a well-behaved socket.io-client on the same server keeps working.
// Handlers that panic do not take the socket or the server down.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import msgpackParser from "socket.io-msgpack-parser";
import {
  MODES,
  PARSERS,
  Watcher,
  ack,
  nextEvent,
  rawConnect,
  useSocketTestbed,
} from "../lib/socketio.mjs";

/**
 * Malformed Socket.IO packets of the default parser, each as the Engine.IO messages that
 * carry it (strings are text messages, Buffers binary ones).
 */
const MALFORMED_JSON = {
  "data that is not JSON": ['2["a"'],
  "an unknown packet type": ["9"],
  "too many attachments": ['5999-["a",{"_placeholder":true,"num":0}]'],
  "an attachment count that is not a number": ['5x-["a"]'],
  "an ack id over 2^53 - 1": ['299999999999999999["a"]'],
  "an event name that is not a string": ["2[1]"],
  "an event without a name": ["2[]"],
  "a reserved event name": ['2["disconnect"]'],
  "an event whose data is not an array": ['2{"a":1}'],
  "a placeholder past the attachments": ['51-["a",{"_placeholder":true,"num":1}]', Buffer.from([1])],
  "a placeholder number that is not a number": ['51-["a",{"_placeholder":true,"num":"0"}]', Buffer.from([1])],
  "binary data with no binary packet": [Buffer.from([1, 2, 3])],
  "a text packet while attachments are awaited": ['51-["a",{"_placeholder":true,"num":0}]', '2["b"]'],
};

const encodeMsgpack = (packet) => new msgpackParser.Encoder().encode(packet)[0];

/** Malformed packets of the msgpack parser, as the Engine.IO messages that carry them. */
const MALFORMED_MSGPACK = {
  "a text message": ['2["a"]'],
  "bytes that are not msgpack": [Buffer.from([0xc1])],
  "msgpack that is not a map": [encodeMsgpack([2, "/", ["a"]])],
  "an unknown packet type": [encodeMsgpack({ type: 9, nsp: "/" })],
  "an event name that is not a string": [encodeMsgpack({ type: 2, nsp: "/", data: [1] })],
  "a namespace that is not a string": [encodeMsgpack({ type: 2, nsp: 1, data: ["a"] })],
  "an ack id over 2^53 - 1": [encodeMsgpack({ type: 2, nsp: "/", data: ["a"], id: 2 ** 60 })],
};

const RAW_CONNECT = {
  json: { packet: "0", decode: (message) => message },
  msgpack: {
    packet: encodeMsgpack({ type: 0, nsp: "/" }),
    // The CONNECT reply, in the JSON parser's text form, for `rawConnect` to check.
    decode: (message) => {
      let decoded;
      const decoder = new msgpackParser.Decoder();
      decoder.on("decoded", (packet) => (decoded = packet));
      decoder.add(message);
      return `${decoded.type}${JSON.stringify(decoded.data)}`;
    },
  },
};

for (const [parserName, cases] of [
  ["json", MALFORMED_JSON],
  ["msgpack", MALFORMED_MSGPACK],
]) {
  const parser = PARSERS[parserName];
  describe(`socket.io malformed packets (${parserName} parser)`, () => {
    const { server, clients } = useSocketTestbed(parser.env, parser.options);

    /** A well-behaved socket that also watches disconnections. */
    async function bystander() {
      const socket = await clients.connect(server.url, "/", { transports: ["websocket"] });
      const watch = new Watcher(socket);
      assert.deepEqual(await ack(socket, "watch"), ["ok"]);
      return { socket, watch };
    }

    /** A bare engine connected to `/` by hand; resolves with it and its socket id. */
    async function rawSocket(transports) {
      const engine = await clients.engine(server.url, transports);
      const { packet, decode } = RAW_CONNECT[parserName];
      const reply = nextEvent(engine, "message");
      engine.send(packet);
      const [message] = await reply;
      const text = decode(message);
      assert.match(text, /^0\{"sid":"[^"]+"\}$/, "the server accepts the CONNECT");
      return { engine, id: JSON.parse(text.slice(1)).sid };
    }

    for (const [mode, transports] of Object.entries(MODES)) {
      for (const [name, messages] of Object.entries(cases)) {
        it(`${name} closes the connection, and only it (${mode})`, async () => {
          const { socket, watch } = await bystander();
          const { engine, id } = await rawSocket(transports);
          const closed = nextEvent(engine, "close");
          for (const message of messages) engine.send(message);
          const [reason] = await closed;
          assert.equal(reason, "transport close");
          assert.equal(await watch.reasonOf(id), "parse error");
          assert.deepEqual(await ack(socket, "echo", "still fine"), ["still fine"]);
        });
      }
    }

    if (parserName === "json") {
      for (const [mode, transports] of Object.entries(MODES)) {
        it(`packets for a namespace the client did not join are ignored (${mode})`, async () => {
          const engine = await clients.engine(server.url, transports);
          await rawConnect(engine);
          engine.send('2/isolated,["echo","lost"]');
          engine.send('2/nope,1["echo","lost"]');
          engine.send("1/isolated,");
          const reply = nextEvent(engine, "message");
          engine.send('27["echo","kept"]');
          assert.deepEqual(await reply, ['37["kept"]'], "the connection is still open");
        });
      }
    }
  });
}

for (const [parserName, parser] of Object.entries(PARSERS)) {
  describe(`socket.io handlers that panic (${parserName} parser)`, () => {
    // The server logs each panic as an error; these are on purpose.
    const quiet = { RUST_LOG: "error,tidings::handler::run=off" };
    const { server, clients } = useSocketTestbed({ ...parser.env, ...quiet }, parser.options);

    for (const [mode, transports] of Object.entries(MODES)) {
      it(`a panicking handler leaves the socket and the server working (${mode})`, async () => {
        const watcherSocket = await clients.connect(server.url, "/", { transports: ["websocket"] });
        const watch = new Watcher(watcherSocket);
        await ack(watcherSocket, "watch");
        const socket = await clients.connect(server.url, "/", { transports });
        const id = socket.id;
        socket.on("disconnect", (reason) => assert.fail(`disconnected: ${reason}`));
        socket.emit("panic");
        assert.deepEqual(await ack(socket, "echo", "after panic"), ["after panic"]);
        socket.emit("panic-async");
        assert.deepEqual(await ack(socket, "echo", "after async panic"), ["after async panic"]);
        assert.deepEqual(await ack(watcherSocket, "echo", "other socket"), ["other socket"]);
        socket.off("disconnect");
        socket.disconnect();
        assert.equal(
          await watch.reasonOf(id),
          "client namespace disconnect",
          "the socket stayed connected until the client left",
        );
      });
    }
  });
}
