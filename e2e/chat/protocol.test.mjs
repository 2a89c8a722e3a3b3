// The chat server's events, with the official socket.io-client: the nickname middleware's
// refusals, the error acks of bad input, and messages with their sent and delivered marks,
// presence and history. The browser tests (chat.test.mjs) drive the page itself.
import assert from "node:assert/strict";
import { after, afterEach, before, describe, it } from "node:test";
import { Clients, nextEvent } from "../lib/socketio.mjs";
import { startServer } from "../lib/server.mjs";
import { ask, login, ok, say } from "./chat.mjs";

describe("the chat server", () => {
  const clients = new Clients();
  let server;
  before(async () => {
    server = await startServer("chat");
  });
  afterEach(() => clients.closeAll());
  after(() => server.stop());

  /** Resolves with the `connect_error` of a login with `auth`. */
  async function refusal(auth) {
    const socket = clients.socket(server.url, "/", { auth });
    const [error] = await nextEvent(socket, "connect_error");
    assert.equal(socket.connected, false);
    return error;
  }

  it("refuses a missing, empty, too long or taken nickname, saying why", async () => {
    await login(clients, server.url, "alice");
    const cases = [
      [undefined, "choose a nickname"],
      [{}, "choose a nickname"],
      [{ nickname: 42 }, "choose a nickname"],
      [{ nickname: "   " }, "choose a nickname"],
      [{ nickname: "n".repeat(21) }, "a nickname has at most 20 characters"],
      [{ nickname: "a\nb" }, "a nickname cannot hold control characters"],
      [{ nickname: "alice" }, "the nickname alice is taken"],
      [{ nickname: " ALICE " }, "the nickname ALICE is taken"],
    ];
    for (const [auth, message] of cases) {
      const error = await refusal(auth);
      assert.equal(error.message, message, JSON.stringify(auth));
      assert.deepEqual(error.data, { field: "nickname" });
    }
    // Twenty characters are fine, and so is a nickname once its owner left.
    await login(clients, server.url, "n".repeat(20));
    clients.closeAll();
    await login(clients, server.url, "alice");
  });

  it("answers bad input with an error ack, and goes on", async () => {
    const bob = await login(clients, server.url, "bob");
    await ok(bob, "join", "lobby");
    const message = (fields) => ({ id: "m1", room: "lobby", text: "hi", ...fields });
    const cases = [
      [["join", "nowhere"], "there is no room #nowhere (try lobby, rust, random)"],
      [["join", 42], /^malformed room: /],
      [["join"], /^malformed room: /],
      [["leave", "nowhere"], "there is no room #nowhere (try lobby, rust, random)"],
      [["message", "hello"], /^malformed message: /],
      [["message", { room: "lobby" }], /^malformed message: /],
      [["message", message({ room: "rust" })], "join #rust first"],
      [["message", message({ room: "nowhere" })], "there is no room #nowhere (try lobby, rust, random)"],
      [["message", message({ text: " " })], "a message cannot be empty"],
      [["message", message({ text: "x".repeat(2001) })], "a message has at most 2000 characters (this one has 2001)"],
      [["message", message({ id: "<script>" })], "a message id is 1 to 64 letters, digits, '-' or '_'"],
      [["typing", { room: "rust", typing: true }], "join #rust first"],
      [["typing", { room: "lobby", typing: "yes" }], /^malformed typing: /],
      [["received", { room: "lobby", id: "nope" }], "no message nope is kept in #lobby"],
      [["received", null], /^malformed receipt: /],
    ];
    for (const [[event, ...args], expected] of cases) {
      const reply = await ask(bob, event, ...args);
      const what = `${event} ${JSON.stringify(args).slice(0, 80)}`;
      assert.deepEqual(Object.keys(reply), ["error"], what);
      if (typeof expected === "string") assert.equal(reply.error, expected, what);
      else assert.match(reply.error, expected, what);
    }
    assert.equal(bob.connected, true);
    await say(bob, "lobby", "still here");
  });

  it("sends messages to the room, acks them, and tells their author who received them", async () => {
    const ann = await login(clients, server.url, "ann");
    const ben = await login(clients, server.url, "ben");
    const joined = await ok(ann, "join", "rust");
    assert.deepEqual(joined.members, ["ann"]);
    assert.ok(Array.isArray(joined.history));
    const benJoined = await ok(ben, "join", "rust");
    assert.deepEqual(benJoined.members, ["ann", "ben"]);
    const [[presence]] = (await ann.inboxes.presence.first(2)).slice(1);
    assert.deepEqual(presence, { room: "rust", members: ["ann", "ben"] });

    await ok(ben, "typing", { room: "rust", typing: true });
    const [[typing]] = await ann.inboxes.typing.first(1);
    assert.deepEqual(typing, { room: "rust", nickname: "ben", typing: true });

    const sent = await say(ann, "rust", "  hello ben  ", "first-1");
    assert.equal(sent.id, "first-1");
    assert.ok(Math.abs(sent.at - Date.now()) < 60_000, `at ${sent.at}`);
    const [[message]] = await ben.inboxes.message.first(1);
    assert.deepEqual(message, { id: "first-1", room: "rust", from: "ann", text: "hello ben", at: sent.at });
    assert.equal(ann.inboxes.message.received.length, 0, "the author is not sent its own message");

    // A retry is acked as the first was, and not broadcast again; another author's id clashes.
    assert.deepEqual(await say(ann, "rust", "hello ben", "first-1"), sent);
    assert.deepEqual(await ask(ben, "message", { id: "first-1", room: "rust", text: "mine" }), {
      error: "message id first-1 is already used",
    });

    await ok(ben, "received", { room: "rust", id: "first-1" });
    const [[delivered]] = await ann.inboxes.delivered.first(1);
    assert.deepEqual(delivered, { room: "rust", id: "first-1", to: "ben" });
    assert.equal(ben.inboxes.message.received.length, 1);

    // A newcomer gets the room's recent messages with its join; leaving tells the room.
    const cy = await login(clients, server.url, "cy");
    const cyJoined = await ok(cy, "join", "rust");
    assert.deepEqual(cyJoined.members, ["ann", "ben", "cy"]);
    assert.deepEqual(cyJoined.history.at(-1), message);
    assert.equal(await ok(cy, "leave", "rust"), "rust");
    ben.disconnect();
    const gone = async () => {
      for (;;) {
        const [[last]] = ann.inboxes.presence.received.slice(-1);
        if (last.members.join() === "ann") return;
        await nextEvent(ann, "presence");
      }
    };
    await gone();
  });

  it("recovers a socket whose connection dropped, with the messages it missed", async () => {
    const options = { reconnection: true, reconnectionDelay: 100, randomizationFactor: 0 };
    const dan = await login(clients, server.url, "dan", options);
    const eva = await login(clients, server.url, "eva");
    await ok(dan, "join", "random");
    await ok(eva, "join", "random");
    const id = dan.id;
    // The connection drops; the server keeps dan's socket for its return.
    const dropped = nextEvent(dan, "disconnect");
    dan.io.engine.close();
    await dropped;
    const [, [gone]] = await eva.inboxes.presence.first(2);
    assert.deepEqual(gone, { room: "random", members: ["eva"] });
    const missed = await say(eva, "random", "said while dan was gone");
    await nextEvent(dan, "connect");
    assert.equal(dan.recovered, true);
    assert.equal(dan.id, id);
    const [[message]] = await dan.inboxes.message.first(1);
    assert.deepEqual([message.id, message.text], [missed.id, "said while dan was gone"]);
    // Back in its rooms, which are told.
    const [, , [back]] = await eva.inboxes.presence.first(3);
    assert.deepEqual(back, { room: "random", members: ["dan", "eva"] });
    await say(dan, "random", "back");
  });
});
