// The built bundle (dist/tidings.min.js) in headless Chromium, on a page that the Tidings test
// bed serves beside its Socket.IO endpoint (STATIC_DIR): events and acks over each transport,
// and the fallback when the browser has no WebSocket. Chromium is Debian's (`scripts/setup`
// installs it), driven by playwright-core, which brings no browser of its own.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startTidings } from "./lib/servers.mjs";

const CHROMIUM = "/usr/bin/chromium";
const clientRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const PAGE = "/test/browser/index.html";
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

const missing = existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing: run scripts/setup to install Debian's chromium`;
if (missing && process.env.CI) throw new Error(missing);

describe("the bundle in headless Chromium", () => {
  let server;
  let browser;

  before(async () => {
    if (missing) return;
    if (!existsSync(path.join(clientRoot, "dist/tidings.min.js"))) {
      throw new Error("dist/tidings.min.js is not built: run `npm run build` in client-js/");
    }
    [server, browser] = await Promise.all([
      startTidings("socketio-testbed", { STATIC_DIR: clientRoot }),
      chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS }),
    ]);
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  /**
   * Opens the page in a fresh context (running `init` before any of its scripts, when given),
   * runs `exchange(options)` in it and resolves with its result. Fails on any uncaught error
   * of the page.
   */
  async function exchangeInPage(options, init) {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      const errors = [];
      page.on("pageerror", (error) => errors.push(error.message));
      // What the page asked of the server and how each request ended, to tell a failure apart.
      const start = performance.now();
      const requests = [];
      const note = (what) => (request) => {
        const url = new URL(request.url());
        const ms = Math.round(performance.now() - start);
        requests.push(`${ms} ms ${what} ${request.method()} ${url.pathname}${url.search} ${request.failure()?.errorText ?? ""}`);
      };
      page.on("request", note("sent"));
      page.on("requestfinished", note("finished"));
      page.on("requestfailed", note("failed"));
      if (init) await page.addInitScript(init);
      const response = await page.goto(server.url + PAGE);
      assert.equal(response.status(), 200);
      assert.match(response.headers()["content-type"], /^text\/html/);
      let result;
      try {
        result = await page.evaluate((options) => exchange(options), options);
      } catch (error) {
        error.message += `\nrequests:\n${requests.join("\n")}`;
        throw error;
      }
      assert.deepEqual(errors, []);
      return result;
    } finally {
      await context.close();
    }
  }

  /** Checks the events and acks of one `exchange`. */
  function assertExchanged(result) {
    assert.equal(typeof result.id, "string");
    assert.deepEqual(result.hello, { id: result.id, nsp: "/", recovered: false });
    assert.deepEqual(result.echo, ["ping", { n: 1 }, [true, null]]);
    assert.deepEqual(result.sum, [42]);
    assert.deepEqual(result.emitBack, ["pong", [1, 2, 255]]);
    assert.equal(result.whoami.id, result.id);
  }

  for (const transport of ["websocket", "polling", "sse"]) {
    test(`${transport}: events and acks both ways`, async (t) => {
      if (missing) return t.skip(missing);
      const result = await exchangeInPage({ transports: [transport] });
      assertExchanged(result);
      // What the client says it used, and what the server says it was reached over.
      assert.equal(result.transport, transport);
      assert.equal(result.whoami.transport, transport);
    });
  }

  test("without window.WebSocket, the default options fall back and still work", async (t) => {
    if (missing) return t.skip(missing);
    const result = await exchangeInPage({}, () => {
      delete window.WebSocket;
      if ("WebSocket" in window) throw new Error("window.WebSocket could not be removed");
    });
    assertExchanged(result);
    assert.ok(["polling", "sse"].includes(result.transport), `the client used ${result.transport}`);
    assert.equal(result.whoami.transport, result.transport);
  });
});
