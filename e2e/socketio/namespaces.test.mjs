// Namespaces with the official socket.io-client, for each transport mode and each parser:
// isolation of rooms between namespaces, several namespaces over one connection, dynamic
// namespaces, middleware that refuses with a message and data, and unknown namespaces.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Inbox, MODES, PARSERS, ack, nextEvent, useSocketTestbed } from "../lib/socketio.mjs";

let rooms = 0;
/** A room name no other test uses. */
const freshRoom = (name) => `${name}-${++rooms}`;

/** Resolves with the `connect_error` of `socket` (rejects if it connects instead). */
async function refused(socket) {
  const [error] = await nextEvent(socket, "connect_error");
  assert.equal(socket.connected, false);
  return error;
}

for (const [parserName, parser] of Object.entries(PARSERS)) {
  describe(`socket.io namespaces (${parserName} parser)`, () => {
    const { server, clients } = useSocketTestbed(parser.env, parser.options);

    for (const [mode, transports] of Object.entries(MODES)) {
      it(`rooms of the same name in two namespaces are apart (${mode})`, async () => {
        const [main, isolated] = await Promise.all([
          clients.connect(server.url, "/", { transports }),
          clients.connect(server.url, "/isolated", { transports }),
        ]);
        const room = freshRoom("shared-name");
        await Promise.all([ack(main, "join", room), ack(isolated, "join", room)]);
        const [mainNews, isolatedNews] = [new Inbox(main, "news"), new Inbox(isolated, "news")];
        const target = { to: [room], event: "news", includeSelf: true };
        await ack(main, "to-room", target, "in /");
        await ack(isolated, "to-room", target, "in /isolated");
        // Each got its own namespace's broadcast; had it got the other's too, it would have
        // come before its own, which the server sent second to one of them.
        const [[[, mainLabel]], [[, isolatedLabel]]] = await Promise.all([mainNews.first(1), isolatedNews.first(1)]);
        assert.equal(mainLabel, "in /");
        assert.equal(isolatedLabel, "in /isolated");
        await ack(main, "to-room", target, "fence");
        assert.deepEqual(
          (await mainNews.first(2)).map(([, label]) => label),
          ["in /", "fence"],
        );
        assert.equal(isolatedNews.received.length, 1);
        const [members] = await ack(isolated, "fetch-sockets", { to: [room] });
        assert.deepEqual(members.map(({ id }) => id), [isolated.id]);
      });

      it(`several namespaces share one connection (${mode})`, async () => {
        const manager = clients.manager(server.url, { transports });
        const main = await clients.connectVia(manager, "/");
        const engineId = manager.engine.id;
        const [isolated, secret] = await Promise.all([
          clients.connectVia(manager, "/isolated"),
          clients.connectVia(manager, "/private", { auth: { token: "secret" } }),
        ]);
        assert.equal(manager.engine.id, engineId, "no new connection was opened");
        const whoami = await Promise.all([main, isolated, secret].map(async (s) => (await ack(s, "whoami"))[0]));
        assert.deepEqual(whoami.map(({ nsp }) => nsp), ["/", "/isolated", "/private"]);
        assert.deepEqual(whoami.map(({ id }) => id), [main.id, isolated.id, secret.id]);
        assert.equal(new Set(whoami.map(({ id }) => id)).size, 3, "one socket per namespace");
        // One connection on the server too: one handshake for every namespace.
        assert.equal(new Set(whoami.map(({ since, address }) => `${since} ${address}`)).size, 1);
        assert.deepEqual(whoami[2].auth, { token: "secret" });

        // Events go to the right namespace, concurrently.
        const answers = await Promise.all([
          ack(main, "echo", "to /"),
          ack(isolated, "echo", "to /isolated"),
          ack(secret, "echo", "to /private"),
        ]);
        assert.deepEqual(answers, [["to /"], ["to /isolated"], ["to /private"]]);

        // Leaving one namespace leaves the others connected, on the same connection.
        const gone = nextEvent(isolated, "disconnect");
        isolated.emit("disconnect-me");
        const [reason] = await gone;
        assert.equal(reason, "io server disconnect");
        assert.deepEqual(await ack(main, "echo", 1), [1]);
        assert.deepEqual(await ack(secret, "echo", 2), [2]);
        assert.equal(manager.engine.id, engineId);
      });

      it(`middleware refuses with a message and data, and admits the right auth (${mode})`, async () => {
        const cases = [undefined, { token: "wrong" }, { other: "secret" }];
        for (const auth of cases) {
          const socket = clients.socket(server.url, "/private", { transports, auth });
          const error = await refused(socket);
          assert.equal(error.message, "not authorized", `auth ${JSON.stringify(auth)}`);
          assert.deepEqual(error.data, { reason: "a token is needed", code: 4001 });
        }
        const socket = await clients.connect(server.url, "/private", { transports, auth: { token: "secret" } });
        const [me] = await ack(socket, "whoami");
        assert.deepEqual([me.nsp, me.id, me.auth], ["/private", socket.id, { token: "secret" }]);
      });

      it(`a refusal on one namespace leaves the connection's others working (${mode})`, async () => {
        const manager = clients.manager(server.url, { transports });
        const main = await clients.connectVia(manager, "/");
        const engineId = manager.engine.id;
        const denied = manager.socket("/private", { auth: { token: "nope" } });
        clients.sockets.add(denied);
        assert.equal((await refused(denied)).message, "not authorized");
        const unknown = manager.socket("/does-not-exist");
        clients.sockets.add(unknown);
        assert.equal((await refused(unknown)).message, "Invalid namespace");
        assert.deepEqual(await ack(main, "echo", "still here"), ["still here"]);
        assert.equal(manager.engine.id, engineId);
      });

      it(`an unknown namespace is refused with "Invalid namespace" (${mode})`, async () => {
        for (const nsp of ["/nope", "/dyn-", "/dyn-12x", "/isolated/sub"]) {
          const error = await refused(clients.socket(server.url, nsp, { transports }));
          assert.equal(error.message, "Invalid namespace", nsp);
        }
      });

      it(`dynamic namespaces are created on demand, apart from each other (${mode})`, async () => {
        const [one, two, twoAgain] = await Promise.all([
          clients.connect(server.url, "/dyn-1", { transports }),
          clients.connect(server.url, "/dyn-2", { transports }),
          clients.connect(server.url, "/dyn-2", { transports }),
        ]);
        const names = await Promise.all([one, two, twoAgain].map(async (s) => (await ack(s, "whoami"))[0].nsp));
        assert.deepEqual(names, ["/dyn-1", "/dyn-2", "/dyn-2"]);
        const room = freshRoom("dyn");
        await Promise.all([one, two, twoAgain].map((s) => ack(s, "join", room)));
        const [members] = await ack(two, "fetch-sockets", { to: [room] });
        assert.deepEqual(members.map(({ id }) => id).sort(), [two.id, twoAgain.id].sort());
        const news = nextEvent(twoAgain, "news");
        await ack(two, "to-room", { to: [room], event: "news" }, "dyn-2 only");
        assert.deepEqual((await news)[1], "dyn-2 only");

        // The dynamic namespace's middleware applies to every namespace it creates.
        const error = await refused(clients.socket(server.url, "/dyn-13", { transports }));
        assert.equal(error.message, "unlucky");
      });
    }
  });
}
