// The Tidings chat page, on the `tidings-client` bundle (the global `tidings`).
//
// The server's events and acks are described in examples/chat/README.md. In short: log in
// with a nickname (the CONNECT auth payload), join rooms (`join` answers with who is there and
// the recent messages), send messages with an id of our own (`message`, acked when the server
// has it: "sent"), answer others' messages with `received` (their author gets `delivered`).
// Every ack is `{ ok }` or `{ error }`. Text from the server only ever goes in as text
// (`textContent`), never as markup.
"use strict";

/** How long an ack may take (ms) before the page stops waiting for it. */
const ACK_TIMEOUT = 10_000;
/** Typing: "still typing" is sent again this often (ms), "stopped" after this much quiet. */
const TYPING_REPEAT = 3_000;
const TYPING_IDLE = 2_000;
/** Others' typing indicators go away after this long without news (ms). */
const TYPING_FORGET = 5_000;
/** Where a message not yet acked sorts: after every message the server timed. */
const PENDING = Number.MAX_SAFE_INTEGER;
const TRANSPORTS = ["websocket", "polling", "sse"];
const STORAGE_KEY = "tidings-chat";

const byId = (id) => document.getElementById(id);

/** An element with these properties. */
function el(tag, props = {}) {
  return Object.assign(document.createElement(tag), props);
}

// ?transport=sse (or polling, websocket) keeps the connection on that transport alone.
const forced = new URLSearchParams(location.search).get("transport");
const socket = tidings.io({
  autoConnect: false,
  ...(TRANSPORTS.includes(forced) ? { transports: [forced], upgrade: false } : {}),
});

const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? "{}");
const state = {
  /** Our nickname, once the server let us in. */
  me: null,
  /** The rooms there are (the server's `welcome`), and those we are in. */
  rooms: [],
  joined: new Set(saved.joined ?? ["lobby"]),
  current: null,
  /** Room → nicknames; room → (nickname → timer that forgets it); room → unread count. */
  presence: new Map(),
  typists: new Map(),
  unread: new Map(),
  /** Our messages the server has not acked yet, by id: sent again on every connect. */
  outbox: new Map(),
  /** The current reconnection attempt (0 when connected), and how many reconnections so far. */
  attempt: 0,
  reconnects: 0,
};
/** Room → its list of messages; message id → its item. */
const lists = new Map();
const items = new Map();

function save() {
  const data = { nickname: state.me, joined: [...state.joined] };
  sessionStorage.setItem(STORAGE_KEY, JSON.stringify(data));
}

// The connection badge: transport in use, or the reconnection attempt.

function renderBadge() {
  const badge = byId("badge");
  const transport = socket.connected ? socket.io.engine?.transport ?? "" : "";
  let text = transport;
  badge.dataset.state = socket.connected ? "connected" : state.attempt ? "reconnecting" : "offline";
  if (!socket.connected) text = state.attempt ? `reconnecting, attempt ${state.attempt}` : "offline";
  if (state.reconnects) text += ` · reconnected ${state.reconnects}×`;
  badge.dataset.transport = transport;
  badge.textContent = text;
}

socket.io.on("open", () => {
  socket.io.engine?.on("upgrade", renderBadge);
  renderBadge();
});
socket.io.on("reconnect_attempt", (attempt) => {
  state.attempt = attempt;
  renderBadge();
});
socket.io.on("reconnect", () => {
  state.attempt = 0;
  state.reconnects++;
  renderBadge();
});

// Logging in, and the connection's life.

function login(nickname) {
  byId("login-error").textContent = "";
  socket.auth = { nickname };
  socket.connect();
}

byId("login").addEventListener("submit", (event) => {
  event.preventDefault();
  login(byId("nickname").value);
});

socket.on("connect", async () => {
  renderBadge();
  byId("login").hidden = true;
  byId("chat").hidden = false;
  if (!socket.recovered) {
    // A new socket: in no room yet. Join ours again; each join brings the recent messages.
    for (const room of [...state.joined]) await joinRoom(room);
  }
  if (!state.current || !state.joined.has(state.current)) show([...state.joined][0] ?? null);
  for (const draft of state.outbox.values()) post(draft);
});

socket.on("connect_error", (error) => {
  renderBadge();
  // Still active: the connection failed, and the client tries again by itself. Inactive: the
  // server refused us (the nickname middleware), and the page asks again.
  if (!socket.active) showLogin(error.message);
});

socket.on("disconnect", (reason) => {
  for (const typists of state.typists.values()) typists.forEach(clearTimeout);
  state.typists.clear();
  renderTyping();
  renderBadge();
  if (reason === "io server disconnect") showLogin("the server sent you away");
});

socket.on("welcome", ({ nickname, rooms }) => {
  state.me = nickname;
  state.rooms = rooms;
  byId("me").textContent = nickname;
  save();
  renderRooms();
});

function showLogin(error) {
  byId("chat").hidden = true;
  byId("login").hidden = false;
  byId("login-error").textContent = error;
  byId("nickname").focus();
}

/** Asks the server `event` with `data`; resolves with the `ok` of the reply, or null. */
async function ask(event, data) {
  try {
    const reply = await socket.timeout(ACK_TIMEOUT).emitWithAck(event, data);
    if ("error" in reply) notice(reply.error);
    return reply.ok ?? null;
  } catch {
    notice(`no answer to ${event}`);
    return null;
  }
}

let noticeTimer;
function notice(text) {
  byId("notice").textContent = text;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => (byId("notice").textContent = ""), 6_000);
}

// Rooms and presence.

async function joinRoom(room) {
  const joined = await ask("join", room);
  if (!joined) return false;
  state.joined.add(room);
  save();
  // The members come with the `presence` event the join sent the room, which the ack follows:
  // taking the ack's list could undo a newer event.
  for (const message of joined.history) arrived(message);
  renderRooms();
  return true;
}

async function leaveRoom(room) {
  if ((await ask("leave", room)) === null) return;
  state.joined.delete(room);
  state.presence.delete(room);
  save();
  if (state.current === room) show([...state.joined][0] ?? null);
  else renderRooms();
}

function show(room) {
  state.current = room;
  state.unread.delete(room);
  for (const [name, list] of lists) list.hidden = name !== room;
  if (room) listOf(room).hidden = false;
  byId("room-title").textContent = room ? `#${room}` : "Join a room";
  byId("text").disabled = !room;
  renderRooms();
  renderPresence();
  renderTyping();
  scrollDown();
}

function renderRooms() {
  const rooms = byId("rooms");
  rooms.replaceChildren();
  for (const room of state.rooms) {
    const joined = state.joined.has(room);
    const item = el("li");
    item.dataset.room = room;
    if (room === state.current) item.dataset.current = "";
    const name = el("button", { className: "name", textContent: `#${room}`, disabled: !joined, type: "button" });
    name.addEventListener("click", () => show(room));
    item.append(name);
    const unread = state.unread.get(room);
    if (unread) item.append(el("span", { className: "unread", textContent: String(unread) }));
    const toggle = el("button", { className: "toggle", textContent: joined ? "leave" : "join", type: "button" });
    toggle.addEventListener("click", async () => {
      if (joined) await leaveRoom(room);
      else if (await joinRoom(room)) show(room);
    });
    item.append(toggle);
    rooms.append(item);
  }
}

socket.on("presence", ({ room, members }) => {
  state.presence.set(room, members);
  if (room === state.current) renderPresence();
});

function renderPresence() {
  const members = state.presence.get(state.current) ?? [];
  byId("presence").replaceChildren(...members.map((nickname) => el("li", { textContent: nickname })));
}

// Messages.

function listOf(room) {
  let list = lists.get(room);
  if (!list) {
    list = el("ol");
    list.dataset.room = room;
    list.hidden = room !== state.current;
    lists.set(room, list);
    byId("messages").append(list);
  }
  return list;
}

/**
 * Shows `message` in its room, in the order of the server's time, unless it is shown already.
 * Returns whether it is new here.
 */
function display(message) {
  if (items.has(message.id)) return false;
  const item = el("li");
  item.dataset.id = message.id;
  item.dataset.at = String(message.at);
  item.append(el("span", { className: "from", textContent: message.from }));
  item.append(el("span", { className: "text", textContent: message.text }));
  if (message.from === state.me) {
    item.classList.add("mine");
    item.append(el("span", { className: "mark" }));
  }
  items.set(message.id, item);
  const list = listOf(message.room);
  const later = [...list.children].find((other) => Number(other.dataset.at) > message.at);
  list.insertBefore(item, later ?? null);
  if (message.from === state.me) mark(message.id, message.at === PENDING ? "pending" : "sent");
  if (message.room === state.current) scrollDown();
  return true;
}

/** A message from the server (live, recovered, or from a room's history). */
function arrived(message) {
  if (!display(message) || message.from === state.me) return;
  socket.emit("received", { room: message.room, id: message.id });
  forget(message.room, message.from);
  if (message.room !== state.current) {
    state.unread.set(message.room, (state.unread.get(message.room) ?? 0) + 1);
    renderRooms();
  }
}

socket.on("message", (message) => arrived(message));
socket.on("delivered", ({ id, to }) => mark(id, "delivered", `received by ${to}`));

const MARKS = { pending: "sending…", sent: "✓ sent", delivered: "✓✓ delivered", failed: "✗ not sent" };
const RANK = { pending: 0, failed: 1, sent: 1, delivered: 2 };

/** Marks our message `id`; a mark never goes back (a late "sent" leaves "delivered"). */
function mark(id, to, title = "") {
  const item = items.get(id);
  if (!item || RANK[item.dataset.state] > RANK[to]) return;
  item.dataset.state = to;
  const mark = item.querySelector(".mark");
  mark.textContent = MARKS[to];
  mark.title = title;
}

byId("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = byId("text").value.trim();
  if (!text || !state.current) return;
  byId("text").value = "";
  stopTyping();
  const draft = { id: crypto.randomUUID(), room: state.current, text };
  display({ id: draft.id, room: draft.room, from: state.me, text, at: PENDING });
  state.outbox.set(draft.id, draft);
  if (socket.connected) post(draft);
});

/** Sends `draft`; without an ack it stays in the outbox, for the next connect. */
async function post(draft) {
  let reply;
  try {
    reply = await socket.timeout(ACK_TIMEOUT).emitWithAck("message", draft);
  } catch {
    return;
  }
  if (!state.outbox.delete(draft.id)) return;
  if ("error" in reply) {
    mark(draft.id, "failed", reply.error);
    notice(reply.error);
    return;
  }
  items.get(draft.id).dataset.at = String(reply.ok.at);
  mark(draft.id, "sent");
}

function scrollDown() {
  const messages = byId("messages");
  messages.scrollTop = messages.scrollHeight;
}

// Typing indicators.

let typing = null;

byId("text").addEventListener("input", () => {
  if (!state.current || !socket.connected) return;
  const now = Date.now();
  if (!typing || typing.room !== state.current || now - typing.sent > TYPING_REPEAT) {
    if (typing && typing.room !== state.current) stopTyping();
    socket.emit("typing", { room: state.current, typing: true });
    typing = { room: state.current, sent: now, timer: 0 };
  }
  clearTimeout(typing.timer);
  typing.timer = setTimeout(stopTyping, TYPING_IDLE);
});

function stopTyping() {
  if (!typing) return;
  clearTimeout(typing.timer);
  if (socket.connected) socket.emit("typing", { room: typing.room, typing: false });
  typing = null;
}

socket.on("typing", ({ room, nickname, typing }) => {
  forget(room, nickname);
  if (typing) {
    const typists = state.typists.get(room) ?? new Map();
    state.typists.set(room, typists);
    typists.set(nickname, setTimeout(() => forget(room, nickname), TYPING_FORGET));
  }
  renderTyping();
});

/** `nickname` no longer types in `room`. */
function forget(room, nickname) {
  const typists = state.typists.get(room);
  if (!typists?.has(nickname)) return;
  clearTimeout(typists.get(nickname));
  typists.delete(nickname);
  renderTyping();
}

function renderTyping() {
  const names = [...(state.typists.get(state.current)?.keys() ?? [])];
  byId("typing").textContent =
    names.length === 0 ? "" : `${names.join(", ")} ${names.length === 1 ? "is" : "are"} typing…`;
}

// A page reloaded in the same tab logs in again with the same nickname.
if (saved.nickname) {
  byId("nickname").value = saved.nickname;
  login(saved.nickname);
}
renderBadge();
