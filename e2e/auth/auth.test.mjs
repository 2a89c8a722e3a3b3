// The auth example (`examples/auth`) with the official socket.io-client: JWTs in the CONNECT
// payload and in an `Authorization` header, session cookies, refusals with their documented
// status and messages, sockets disconnected with a clear reason when their credential
// expires, and clients that refresh their token staying connected. An unrelated client,
// logged in with a session cookie, keeps working throughout.
import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import WebSocket from "ws";
import { startServer } from "../lib/server.mjs";
import { Clients, MODES, ack, nextEvent, noEvent } from "../lib/socketio.mjs";

/** The server's key, so that tests can make tokens of their own (expired, say). */
const SECRET = "e2e secret";

/** How long a token is good for (ms), rounded up to whole seconds by the server. */
const TOKEN_TTL = 2_000;

/** A JWT (HS256) with `claims`, signed with `secret`. */
function jwt(claims, secret = SECRET) {
  const part = (value) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const unsigned = `${part({ alg: "HS256", typ: "JWT" })}.${part(claims)}`;
  const signature = createHmac("sha256", secret).update(unsigned).digest("base64url");
  return `${unsigned}.${signature}`;
}

/** Seconds since the Unix epoch, `offset` seconds from now. */
const epoch = (offset) => Math.floor(Date.now() / 1000) + offset;

/** POSTs `body` as JSON to `path`; resolves with the response. */
function post(url, path, body, headers = {}) {
  return fetch(`${url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

/** `POST /login` as `username`: `{ token, expiresAt }`. */
async function login(url, username = "ada", password = { ada: "lovelace", alan: "turing" }[username]) {
  const response = await post(url, "/login", { username, password });
  assert.equal(response.status, 200);
  return response.json();
}

/** `POST /session` as `username`: `{ cookie, setCookie, body }`. */
async function openSession(url, username = "grace", password = "hopper") {
  const response = await post(url, "/session", { username, password });
  assert.equal(response.status, 200);
  const [setCookie] = response.headers.getSetCookie();
  return { cookie: setCookie.split(";")[0], setCookie, body: await response.json() };
}

/** Resolves with the message of the next `connect_error` of `socket`. */
async function refusal(socket) {
  const [error] = await nextEvent(socket, "connect_error");
  return error.message;
}

/** The status and body of a polling handshake with `headers` (an Engine.IO error as JSON). */
async function pollingHandshake(url, headers) {
  const response = await fetch(`${url}/socket.io/?EIO=4&transport=polling`, { headers });
  const body = await response.text();
  return { status: response.status, body: response.ok ? body : JSON.parse(body) };
}

/** The status and Engine.IO error of a WebSocket handshake with `headers`, refused. */
function websocketHandshake(port, headers) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`, {
      headers,
    });
    ws.on("open", () => {
      ws.close();
      reject(new Error("the WebSocket handshake was accepted"));
    });
    ws.on("error", () => {});
    ws.on("unexpected-response", (_request, response) => {
      let body = "";
      response.on("data", (chunk) => (body += chunk));
      response.on("end", () => resolve({ status: response.statusCode, body: JSON.parse(body) }));
    });
  });
}

/**
 * Resolves with what a client sees when the server ends its socket: the `"expired"` event's
 * argument, then the disconnect reason (it fails if the disconnect comes first).
 */
async function expiry(socket, { timeout = 10_000 } = {}) {
  const [[notice], [reason]] = await Promise.all([
    nextEvent(socket, "expired", { timeout }),
    nextEvent(socket, "disconnect", { timeout }),
  ]);
  return { notice, reason };
}

/** Waits until `time` (ms since the Unix epoch) has passed by `margin` ms. */
const until = (time, margin = 300) =>
  new Promise((resolve) => setTimeout(resolve, Math.max(0, time - Date.now()) + margin));

/** Starts the example with `env` for the enclosing suite; returns `{ server, clients }`. */
function useAuthServer(env) {
  const clients = new Clients();
  const server = {};
  before(async () => {
    Object.assign(
      server,
      await startServer("auth", { RUST_LOG: "error", JWT_SECRET: SECRET, ...env }),
    );
  });
  afterEach(() => clients.closeAll());
  after(() => server.stop());
  return { server, clients };
}

describe("auth example: tokens and session cookies", () => {
  const { server, clients } = useAuthServer({
    TOKEN_TTL: String(TOKEN_TTL),
    SESSION_TTL: "600000",
  });
  // A client of its own session, connected for the whole suite.
  const bystanders = new Clients();
  let bystander;
  before(async () => {
    const { cookie } = await openSession(server.url);
    bystander = await bystanders.connect(server.url, "/", { extraHeaders: { cookie } });
  });
  afterEach(async () => {
    assert.ok(bystander.connected, "the unrelated client is still connected");
    const [me] = await ack(bystander, "whoami");
    assert.deepEqual([me.user, me.via], ["grace", "session"]);
  });
  after(() => bystanders.closeAll());

  for (const [mode, transports] of Object.entries(MODES)) {
    it(`a token in the CONNECT payload connects, and the socket ends when it expires (${mode})`, async () => {
      const { token, expiresAt } = await login(server.url);
      const socket = await clients.connect(server.url, "/", {
        transports,
        auth: { token },
        reconnection: true,
      });
      const ended = expiry(socket);
      const [me] = await ack(socket, "whoami");
      assert.deepEqual(me, { user: "ada", via: "token", expiresAt });

      const { notice, reason } = await ended;
      assert.deepEqual(notice, { message: "token expired" });
      assert.equal(reason, "io server disconnect");
      assert.ok(Date.now() >= expiresAt - 50, "not before the token's exp");
      assert.equal(socket.active, false, "the client does not reconnect by itself");
      await noEvent(socket, "connect");

      // With a fresh token, it connects again.
      socket.auth = { token: (await login(server.url)).token };
      socket.connect();
      await nextEvent(socket, "connect");
      assert.equal((await ack(socket, "whoami"))[0].user, "ada");
    });
  }

  it("a connection without a token, or with a bad or expired one, is refused with a message", async () => {
    const cases = [
      [undefined, "missing credentials"],
      [{}, "missing credentials"],
      [{ token: 42 }, "invalid token"],
      [{ token: "not a token" }, "invalid token"],
      [{ token: jwt({ sub: "ada", exp: epoch(60) }, "another secret") }, "invalid token"],
      [{ token: jwt({ sub: "ada", exp: epoch(-1) }) }, "token expired"],
      [{ token: jwt({ sub: "ada" }) }, "invalid token"],
    ];
    for (const [auth, message] of cases) {
      const socket = clients.socket(server.url, "/", { auth, reconnection: true });
      assert.equal(await refusal(socket), message, JSON.stringify(auth));
      assert.equal(socket.active, false, "a refused client does not retry by itself");
    }
    // A token of our own making, with the server's key, is good.
    const token = jwt({ sub: "alan", exp: epoch(60) });
    const socket = await clients.connect(server.url, "/", { auth: { token } });
    assert.equal((await ack(socket, "whoami"))[0].user, "alan");
  });

  it("a bearer token in the handshake's headers connects a non-browser client", async () => {
    // Good for a minute, made with the server's key: the test may take a while.
    const token = jwt({ sub: "alan", exp: epoch(60) });
    for (const transports of Object.values(MODES)) {
      const socket = await clients.connect(server.url, "/", {
        transports,
        extraHeaders: { authorization: `Bearer ${token}` },
      });
      const [me] = await ack(socket, "whoami");
      assert.deepEqual([me.user, me.via], ["alan", "token"]);
    }
  });

  it("a bad credential in the handshake's headers is refused before any session, on every transport", async () => {
    const expired = jwt({ sub: "ada", exp: epoch(-1) });
    const cases = [
      [{ authorization: "Bearer not-a-token" }, "invalid token"],
      [{ authorization: "Basic YWRhOmxvdmVsYWNl" }, "invalid token"],
      [{ authorization: `Bearer ${expired}` }, "token expired"],
      [{ cookie: "session=0123456789abcdef" }, "invalid session"],
    ];
    for (const [headers, message] of cases) {
      const refused = { status: 403, body: { code: 4, message } };
      assert.deepEqual(await pollingHandshake(server.url, headers), refused, message);
      assert.deepEqual(await websocketHandshake(server.port, headers), refused, message);
      for (const transports of Object.values(MODES)) {
        const socket = clients.socket(server.url, "/", { transports, extraHeaders: headers });
        await nextEvent(socket, "connect_error");
        assert.equal(socket.connected, false);
      }
    }
    // A good one passes the same check.
    const { token } = await login(server.url);
    const good = await pollingHandshake(server.url, { authorization: `Bearer ${token}` });
    assert.equal(good.status, 200);
    assert.match(good.body, /^0\{"sid":/, "the open packet");
  });

  it("a client that sends a fresh token stays connected past the first one's expiry", async () => {
    const first = await login(server.url);
    const socket = await clients.connect(server.url, "/", { auth: { token: first.token } });
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const second = await login(server.url);
    assert.ok(second.expiresAt > first.expiresAt);

    // A token that is not good, or not the socket's user's, changes nothing.
    const alans = (await login(server.url, "alan")).token;
    assert.deepEqual(await ack(socket, "refresh", "not a token"), [{ error: "invalid token" }]);
    assert.deepEqual(await ack(socket, "refresh", alans), [{ error: "token for another user" }]);

    const [renewed] = await ack(socket, "refresh", second.token);
    assert.deepEqual(renewed, { user: "ada", via: "token", expiresAt: second.expiresAt });
    const expired = nextEvent(socket, "expired", { timeout: 10_000 });
    await until(first.expiresAt);
    assert.ok(socket.connected, "still connected after the first token's exp");
    assert.equal((await ack(socket, "whoami"))[0].expiresAt, second.expiresAt);

    // Then the second one expires.
    assert.deepEqual(await expired, [{ message: "token expired" }]);
    assert.ok(Date.now() >= second.expiresAt - 50);
  });

  it("a session cookie connects; logging out disconnects its sockets and refuses the cookie", async () => {
    const { cookie, setCookie, body } = await openSession(server.url, "ada", "lovelace");
    assert.match(setCookie, /^session=[0-9a-f]{64}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=600$/);
    assert.equal(body.user, "ada");
    const sockets = [];
    for (const transports of Object.values(MODES)) {
      const socket = await clients.connect(server.url, "/", {
        transports,
        extraHeaders: { cookie },
        reconnection: true,
      });
      const [me] = await ack(socket, "whoami");
      assert.deepEqual(me, { user: "ada", via: "session", expiresAt: body.expiresAt });
      sockets.push(socket);
    }
    // A client of another session, and one with a token, are not touched.
    const other = await openSession(server.url, "ada", "lovelace");
    const sameUser = await clients.connect(server.url, "/", { extraHeaders: { cookie: other.cookie } });
    const token = jwt({ sub: "ada", exp: epoch(60) });
    const withToken = await clients.connect(server.url, "/", { auth: { token } });

    const ends = sockets.map((socket) => expiry(socket));
    const response = await post(server.url, "/logout", undefined, { cookie });
    assert.equal(response.status, 204);
    assert.match(response.headers.get("set-cookie"), /^session=; .*Max-Age=0$/);
    for (const end of ends) {
      assert.deepEqual(await end, {
        notice: { message: "logged out" },
        reason: "io server disconnect",
      });
    }
    await noEvent(sameUser, "disconnect");
    assert.ok(sameUser.connected && withToken.connected);

    // The cookie no longer opens anything.
    const refused = { status: 403, body: { code: 4, message: "invalid session" } };
    assert.deepEqual(await pollingHandshake(server.url, { cookie }), refused);
    assert.deepEqual(await websocketHandshake(server.port, { cookie }), refused);
  });

  it("logins with a wrong password or a malformed body are refused", async () => {
    for (const path of ["/login", "/session"]) {
      const wrong = await post(server.url, path, { username: "ada", password: "babbage" });
      assert.equal(wrong.status, 401);
      assert.deepEqual(await wrong.json(), { error: "wrong username or password" });
      assert.equal(wrong.headers.get("set-cookie"), null);
      const malformed = await post(server.url, path, ["ada"]);
      assert.equal(malformed.status, 400);
    }
  });
});

describe("auth example: sessions that expire", () => {
  const { server, clients } = useAuthServer({ SESSION_TTL: "2000" });

  it("a socket ends when its session expires, and the cookie is refused from then on", async () => {
    const { cookie, body } = await openSession(server.url);
    const socket = await clients.connect(server.url, "/", {
      extraHeaders: { cookie },
      reconnection: true,
    });
    const ended = expiry(socket);
    const { token } = await login(server.url);
    const other = await clients.connect(server.url, "/", { auth: { token } });

    const { notice, reason } = await ended;
    assert.deepEqual(notice, { message: "session expired" });
    assert.equal(reason, "io server disconnect");
    assert.ok(Date.now() >= body.expiresAt - 50);
    assert.equal(socket.active, false);
    assert.ok(other.connected, "a client with a live credential stays");

    const refused = { status: 403, body: { code: 4, message: "invalid session" } };
    assert.deepEqual(await pollingHandshake(server.url, { cookie }), refused);
  });
});
