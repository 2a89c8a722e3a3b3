// The chat page (examples/chat) in headless Chromium: two pages chatting with presence,
// typing and delivery marks; a browser without WebSocket (polling); the SSE transport; and a
// server killed and started again mid-conversation. Screenshots of the pages go to
// e2e/chat/screenshots/ (not in git). Chromium is Debian's (`scripts/setup` installs it),
// driven by playwright-core, which brings no browser of its own.
import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { after, afterEach, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { Clients } from "../lib/socketio.mjs";
import { startServer } from "../lib/server.mjs";
import { login, ok, say } from "./chat.mjs";

const CHROMIUM = "/usr/bin/chromium";
const CHROMIUM_ARGS = [
  // The sandbox cannot start as root, which is how CI runs.
  "--no-sandbox",
  // No connections of Chromium's own: the test machines have no network but loopback.
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--no-first-run",
  "--disable-gpu",
];
const SCREENSHOTS = path.join(path.dirname(fileURLToPath(import.meta.url)), "screenshots");
/** How long the page may take to show something (ms). */
const STEP_TIMEOUT = 10_000;

const missing = existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing: run scripts/setup to install Debian's chromium`;
if (missing && process.env.CI) throw new Error(missing);

describe("the chat page in headless Chromium", () => {
  const clients = new Clients();
  let server;
  let browser;
  /** Every page's uncaught errors, checked after each test. */
  let errors = [];

  before(async () => {
    if (missing) return;
    mkdirSync(SCREENSHOTS, { recursive: true });
    [server, browser] = await Promise.all([
      startServer("chat"),
      chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS }),
    ]);
  });

  afterEach(async () => {
    clients.closeAll();
    for (const context of browser?.contexts() ?? []) await context.close();
    const seen = errors;
    errors = [];
    assert.deepEqual(seen, [], "the pages threw");
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  /**
   * Opens the chat at `url` (with `query`) in a fresh browser context, running `init` before
   * the page's scripts when given, and logs in as `nickname`; resolves once the page shows
   * its nickname among the lobby's members.
   */
  async function open(url, nickname, { query = "", init } = {}) {
    const context = await browser.newContext({ viewport: { width: 900, height: 560 } });
    context.setDefaultTimeout(STEP_TIMEOUT);
    const page = await context.newPage();
    page.on("pageerror", (error) => errors.push(`${nickname}: ${error.message}`));
    if (init) await page.addInitScript(init);
    const response = await page.goto(`${url}/${query}`);
    assert.equal(response.status(), 200);
    await page.fill("#nickname", nickname);
    await page.press("#nickname", "Enter");
    await page.locator("#badge[data-state=connected]").waitFor();
    await members(page, (list) => list.includes(nickname));
    return page;
  }

  /** Resolves once the page's member list satisfies `check` (run in the test, polled). */
  async function members(page, check) {
    const deadline = Date.now() + STEP_TIMEOUT;
    for (;;) {
      const list = await page.locator("#presence li").allTextContents();
      if (check(list)) return list;
      if (Date.now() > deadline) assert.fail(`the members shown are ${JSON.stringify(list)}`);
      await page.waitForTimeout(50);
    }
  }

  /** Types `text` into the page's composer and sends it. */
  async function send(page, text) {
    await page.fill("#text", text);
    await page.press("#text", "Enter");
  }

  /** The item of the message saying `text`, once the page shows it. */
  async function message(page, text) {
    const item = page.locator("#messages li", { hasText: text });
    await item.waitFor();
    return item;
  }

  /** Resolves once our message saying `text` is marked `state` (sent, delivered). */
  async function marked(page, text, state) {
    await page.locator(`#messages li.mine[data-state=${state}]`, { hasText: text }).waitFor();
  }

  /** The transport the page's badge shows. */
  async function transportOf(page) {
    return page.locator("#badge[data-state=connected]").getAttribute("data-transport");
  }

  function screenshot(page, name) {
    return page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
  }

  test("two pages chat, with presence, typing, and sent and delivered marks", async (t) => {
    if (missing) return t.skip(missing);
    const alice = await open(server.url, "alice");
    const bob = await open(server.url, "bob");
    const both = (list) => list.join() === "alice,bob";
    await Promise.all([members(alice, both), members(bob, both)]);
    assert.equal(await transportOf(alice), "websocket");

    await bob.locator("#text").pressSequentially("hi al");
    await alice.locator("#typing", { hasText: "bob is typing…" }).waitFor();

    await send(alice, "hello bob");
    await message(bob, "hello bob");
    await marked(alice, "hello bob", "delivered");
    await send(bob, "hi alice, got it");
    await message(alice, "hi alice, got it");
    await marked(bob, "hi alice, got it", "delivered");
    // The message ended bob's typing indicator.
    assert.equal(await alice.locator("#typing").textContent(), "");
    assert.equal(await bob.locator("#messages li.mine").count(), 1);
    assert.equal(await bob.locator("#messages li:not(.mine) .from").textContent(), "alice");

    // Another room: alice alone there, and nobody to deliver to.
    await alice.click("#rooms li[data-room=rust] .toggle");
    await alice.locator("#room-title", { hasText: "#rust" }).waitFor();
    await members(alice, (list) => list.join() === "alice");
    await send(alice, "anyone into Rust?");
    await marked(alice, "anyone into Rust?", "sent");
    await members(bob, (list) => list.join() === "alice,bob");
    await Promise.all([screenshot(alice, "two-pages-alice"), screenshot(bob, "two-pages-bob")]);
  });

  test("a page whose nickname is refused shows why, and can choose another", async (t) => {
    if (missing) return t.skip(missing);
    await login(clients, server.url, "taken");
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on("pageerror", (error) => errors.push(error.message));
    await page.goto(server.url);
    await page.fill("#nickname", "Taken");
    await page.press("#nickname", "Enter");
    await page.locator("#login-error", { hasText: "the nickname Taken is taken" }).waitFor();
    await screenshot(page, "nickname-taken");
    await page.fill("#nickname", "x".repeat(21));
    await page.press("#nickname", "Enter");
    await page.locator("#login-error", { hasText: "a nickname has at most 20 characters" }).waitFor();
    await page.fill("#nickname", "untaken");
    await page.press("#nickname", "Enter");
    await page.locator("#badge[data-state=connected]").waitFor();
    assert.equal(await page.locator("#login").isHidden(), true);
  });

  /** A page and a Node client exchange messages and receipts in the lobby. */
  async function roundTrip(page, nickname, other) {
    const node = await login(clients, server.url, other);
    await ok(node, "join", "lobby");
    await members(page, (list) => list.includes(other));
    await send(page, `${nickname} here`);
    const [[received]] = await node.inboxes.message.first(1);
    assert.equal(received.text, `${nickname} here`);
    await ok(node, "received", { room: "lobby", id: received.id });
    await marked(page, `${nickname} here`, "delivered");
    await say(node, "lobby", `hello ${nickname}`);
    await message(page, `hello ${nickname}`);
  }

  test("without window.WebSocket the page works over long-polling", async (t) => {
    if (missing) return t.skip(missing);
    const page = await open(server.url, "oldie", {
      init: () => {
        delete window.WebSocket;
        if ("WebSocket" in window) throw new Error("window.WebSocket could not be removed");
      },
    });
    assert.equal(await transportOf(page), "polling");
    await roundTrip(page, "oldie", "nora");
    assert.equal(await transportOf(page), "polling");
    await screenshot(page, "polling");
  });

  test("with ?transport=sse the page works over server-sent events", async (t) => {
    if (missing) return t.skip(missing);
    const page = await open(server.url, "sammy", { query: "?transport=sse" });
    assert.equal(await transportOf(page), "sse");
    await roundTrip(page, "sammy", "nico");
    assert.equal(await transportOf(page), "sse");
    await screenshot(page, "sse");
  });

  test("pages reconnect to a restarted server and show what was said meanwhile", async (t) => {
    if (missing) return t.skip(missing);
    let restarting = await startServer("chat");
    const port = String(restarting.port);
    const dora = await open(restarting.url, "dora");
    const eve = await open(restarting.url, "eve", { query: "?transport=polling" });
    await send(dora, "before the restart");
    await message(eve, "before the restart");
    await marked(dora, "before the restart", "delivered");

    await restarting.exit("SIGKILL");
    await Promise.all([dora, eve].map((page) => page.locator("#badge:not([data-state=connected])").waitFor()));
    restarting = await startServer("chat", { PORT: port });
    try {
      // A third party speaks before the pages are back (their first attempt waits 0.5 to 1.5 s).
      const trent = await login(clients, restarting.url, "trent");
      await ok(trent, "join", "lobby");
      await say(trent, "lobby", "said while you were away");
      for (const page of [dora, eve]) {
        await message(page, "said while you were away");
        await page.locator("#badge[data-state=connected]", { hasText: "reconnected 1×" }).waitFor();
        await message(page, "before the restart");
      }
      await members(dora, (list) => list.join() === "dora,eve,trent");
      await send(eve, "back again");
      await message(dora, "back again");
      await marked(eve, "back again", "delivered");
      await Promise.all([screenshot(dora, "restart-dora"), screenshot(eve, "restart-eve")]);
    } finally {
      await restarting.stop();
    }
  });
});
