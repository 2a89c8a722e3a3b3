// Two chat servers sharing one Redis (REDIS_URL), each with its own clients (socket.io-client):
// messages, receipts and presence cross servers, a nickname is taken cluster-wide, and a
// server learns the messages the other took, for its history.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Clients, nextEvent } from "../lib/socketio.mjs";
import { redisMissing, startRedis } from "../lib/redis.mjs";
import { startServer } from "../lib/server.mjs";
import { login, ok, say } from "./chat.mjs";

describe("chat servers in a cluster", { skip: redisMissing ?? false }, () => {
  const clients = new Clients();
  let redis;
  let nodes = [];

  before(async () => {
    redis = await startRedis();
    nodes = await Promise.all([1, 2].map(() => startServer("chat", { REDIS_URL: redis.url })));
  });

  after(async () => {
    clients.closeAll();
    await Promise.all(nodes.map((node) => node.stop()));
    await redis?.stop();
  });

  it("share messages, receipts, presence, nicknames and history", async () => {
    const [one, two] = nodes;
    const ann = await login(clients, one.url, "ann");
    const bob = await login(clients, two.url, "bob");
    await ok(ann, "join", "lobby");
    assert.deepEqual((await ok(bob, "join", "lobby")).members, ["ann", "bob"]);

    const refused = clients.socket(two.url, "/", { auth: { nickname: "Ann" } });
    const [error] = await nextEvent(refused, "connect_error");
    assert.equal(error.message, "the nickname Ann is taken");

    const sent = await say(ann, "lobby", "across the cluster");
    const [[message]] = await bob.inboxes.message.first(1);
    assert.equal(message.id, sent.id);
    await ok(bob, "received", { room: "lobby", id: sent.id });
    const [[delivered]] = await ann.inboxes.delivered.first(1);
    assert.deepEqual(delivered, { room: "lobby", id: sent.id, to: "bob" });

    // The second server keeps what the first took: a newcomer there gets it with its join.
    const cy = await login(clients, two.url, "cy");
    const joined = await ok(cy, "join", "lobby");
    assert.deepEqual(joined.members, ["ann", "bob", "cy"]);
    assert.deepEqual(joined.history.at(-1), message);
  });
});
