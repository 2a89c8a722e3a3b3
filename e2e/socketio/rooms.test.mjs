// Rooms and broadcasts with the official socket.io-client, for each transport mode and each
// parser: `to`, `except`, several rooms, broadcast without the sender, and broadcasts that
// collect acks (all answer, or some do not and the server gets a timeout with the others).
//
// A socket that must not get a broadcast is checked with a fence: a later broadcast that it
// does get. Events from the server to one client keep their order, so when the fence comes
// first, the broadcast never will.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Inbox, MODES, PARSERS, ack, useSocketTestbed } from "../lib/socketio.mjs";

let rooms = 0;
/** A room name no other test uses. */
const freshRoom = (name) => `${name}-${++rooms}`;
/** The ids and rooms of `fetch-sockets` entries (which also have data and handshakes). */
const idsAndRooms = (sockets) => sockets.map(({ id, rooms }) => ({ id, rooms }));

for (const [parserName, parser] of Object.entries(PARSERS)) {
  describe(`socket.io rooms (${parserName} parser)`, () => {
    const { server, clients } = useSocketTestbed(parser.env, parser.options);

    /** Three connected sockets, each with an inbox for event `news`. */
    async function trio(transports, reply) {
      const sockets = await Promise.all(
        [0, 1, 2].map(() => clients.connect(server.url, "/", { transports })),
      );
      return sockets.map((socket, i) => ({
        socket,
        news: new Inbox(socket, "news", { reply: reply && (() => reply(i)) }),
      }));
    }

    /** `sender` broadcasts `news` with `label` to `target`; resolves once the server did. */
    async function broadcast(sender, target, label) {
      assert.deepEqual(await ack(sender, "to-room", { event: "news", ...target }, label), ["ok"]);
    }

    /** The labels of the news each of `members` got, up to and including the fence. */
    async function newsUntilFence(sender, members, fenceRoom) {
      await broadcast(sender, { to: [fenceRoom], includeSelf: true }, "fence");
      return Promise.all(
        members.map(async ({ news }) => {
          for (let count = 1; ; count++) {
            const labels = (await news.first(count)).map(([, label]) => label);
            if (labels.at(-1) === "fence") return labels;
          }
        }),
      );
    }

    for (const [mode, transports] of Object.entries(MODES)) {
      it(`join and leave answer the rooms; fetch-sockets finds the members (${mode})`, async () => {
        const [a, b] = await trio(transports);
        const [red, blue] = [freshRoom("red"), freshRoom("blue")];
        assert.deepEqual(await ack(a.socket, "join", [blue, red]), [[blue, red].sort()]);
        assert.deepEqual(await ack(b.socket, "join", red), [[red]]);
        const [members] = await ack(a.socket, "fetch-sockets", { to: [red] });
        const expected = [
          { id: a.socket.id, rooms: [blue, red].sort() },
          { id: b.socket.id, rooms: [red] },
        ].sort((x, y) => (x.id < y.id ? -1 : 1));
        assert.deepEqual(idsAndRooms(members), expected);

        assert.deepEqual(await ack(a.socket, "leave", red), [[blue]]);
        const [left] = await ack(b.socket, "fetch-sockets", { to: [red] });
        assert.deepEqual(idsAndRooms(left), [{ id: b.socket.id, rooms: [red] }]);
        const [byId] = await ack(b.socket, "fetch-sockets", { to: [a.socket.id] });
        assert.deepEqual(idsAndRooms(byId), [{ id: a.socket.id, rooms: [blue] }], "a socket's id is a room");
      });

      it(`to(room) reaches the room's members but the sender (${mode})`, async () => {
        const [a, b, c] = await trio(transports);
        const [room, all] = [freshRoom("room"), freshRoom("all")];
        await Promise.all([ack(a.socket, "join", [room, all]), ack(b.socket, "join", [room, all]), ack(c.socket, "join", all)]);
        await broadcast(a.socket, { to: [room] }, "to room");
        assert.deepEqual(await newsUntilFence(a.socket, [a, b, c], all), [
          ["fence"],
          ["to room", "fence"],
          ["fence"],
        ]);
      });

      it(`several rooms reach each member once; except leaves rooms out (${mode})`, async () => {
        const [a, b, c] = await trio(transports);
        const [red, blue, all] = [freshRoom("red"), freshRoom("blue"), freshRoom("all")];
        await Promise.all([
          ack(a.socket, "join", all),
          ack(b.socket, "join", [red, blue, all]),
          ack(c.socket, "join", [blue, all]),
        ]);
        await broadcast(a.socket, { to: [red, blue], includeSelf: true }, "red or blue");
        await broadcast(a.socket, { to: [all], except: [red], includeSelf: true }, "all but red");
        await broadcast(a.socket, { to: [blue], except: [c.socket.id] }, "blue but c");
        assert.deepEqual(await newsUntilFence(a.socket, [a, b, c], all), [
          ["all but red", "fence"],
          ["red or blue", "blue but c", "fence"],
          ["red or blue", "all but red", "fence"],
        ]);
      });

      it(`broadcast() reaches every socket of the namespace but the sender (${mode})`, async () => {
        const [a, b, c] = await trio(transports);
        const all = freshRoom("all");
        await Promise.all([a, b, c].map(({ socket }) => ack(socket, "join", all)));
        await broadcast(b.socket, {}, "everyone else");
        await broadcast(b.socket, { except: [all] }, "nobody here");
        assert.deepEqual(await newsUntilFence(a.socket, [a, b, c], all), [
          ["everyone else", "fence"],
          ["fence"],
          ["everyone else", "fence"],
        ]);
      });

      it(`a broadcast with acks resolves with every member's answer (${mode})`, async () => {
        const [a, b, c] = await trio(transports, (i) => [`from ${i}`, { i }]);
        const room = freshRoom("acks");
        await Promise.all([a, b, c].map(({ socket }) => ack(socket, "join", room)));
        const target = { to: [room], event: "news", timeout: 2_000 };
        const [error, responses] = await ack(a.socket, "broadcast-with-ack", target, "question");
        assert.equal(error, null);
        assert.deepEqual(
          responses.sort((x, y) => x[1].i - y[1].i),
          [
            ["from 1", { i: 1 }],
            ["from 2", { i: 2 }],
          ],
        );
        assert.equal(a.news.received.length, 0, "the sender is left out");

        const [withSelf, all] = await ack(a.socket, "broadcast-with-ack", { ...target, includeSelf: true }, "q");
        assert.equal(withSelf, null);
        assert.deepEqual(all.map(([label]) => label).sort(), ["from 0", "from 1", "from 2"]);
      });

      it(`a broadcast with acks fails at its timeout with the answers that came (${mode})`, async () => {
        // Socket 2 gets the event but never acks.
        const [a, b, c] = await trio(transports, (i) => (i === 2 ? null : [`from ${i}`]));
        const room = freshRoom("partial");
        await Promise.all([a, b, c].map(({ socket }) => ack(socket, "join", room)));
        const started = performance.now();
        const target = { to: [room], event: "news", timeout: 200, includeSelf: true };
        const [error, responses] = await ack(a.socket, "broadcast-with-ack", target, "q");
        const waited = performance.now() - started;
        assert.deepEqual(error, { message: "timeout", missing: 1 });
        assert.deepEqual(responses.map(([label]) => label).sort(), ["from 0", "from 1"]);
        assert.ok(waited >= 190, `the server waited its timeout (${waited.toFixed(0)} ms)`);
        assert.equal(c.news.received.length, 1, "the silent socket did get the event");
      });

      it(`a broadcast with acks to an empty room resolves at once with none (${mode})`, async () => {
        const [a] = await trio(transports);
        const target = { to: [freshRoom("empty")], event: "news", timeout: 3_000 };
        const started = performance.now();
        assert.deepEqual(await ack(a.socket, "broadcast-with-ack", target, "q"), [null, []]);
        assert.ok(performance.now() - started < 1_000, "it does not wait for the timeout");
      });
    }
  });
}
