// The package as it is published (dist/, built by `npm run build`, which `npm test` runs
// first): the size budget of the browser bundle, the entry points package.json names, and a
// round trip through the minified builds, whose internal member names are shortened.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import { gzipSync } from "node:zlib";
import { startTidings } from "./lib/servers.mjs";
import { NODE, connected, once } from "./socket-lib.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));

/**
 * The budget of the whole browser bundle, minified and gzipped (level 9): 6 KB, read as
 * 6,000 bytes, the stricter of kB and KiB.
 */
const BUDGET = 6_000;

/** The bytes of `file` in dist/, failing clearly when the package was not built. */
function dist(file) {
  const at = path.join(root, "dist", file);
  assert.ok(existsSync(at), `dist/${file} is missing: run \`npm run build\` in client-js first`);
  return readFileSync(at);
}

test(`the browser bundle is at most ${BUDGET} B minified and gzipped`, () => {
  const gzipped = gzipSync(dist("tidings.min.js"), { level: 9 }).length;
  console.log(`tidings.min.js: ${gzipped} B gzipped, ${BUDGET - gzipped} B under the budget`);
  assert.ok(gzipped <= BUDGET, `tidings.min.js is ${gzipped} B gzipped, over the ${BUDGET} B budget`);
});

test("the browser bundle leaves the msgpack parser out", () => {
  // An error only the msgpack decoder throws.
  assert.ok(!dist("tidings.min.js").toString().includes("reserved byte"), "tidings.min.js carries the msgpack parser");
  assert.ok(dist("msgpack.min.js").toString().includes("reserved byte"));
});

test("each script bundle sets a global with its module's exports", async () => {
  const scripts = [
    ["tidings.min.js", "tidings", pkg.name],
    ["msgpack.min.js", "tidingsMsgpack", `${pkg.name}/msgpack`],
  ];
  for (const [file, global, module] of scripts) {
    const page = vm.createContext({ TextEncoder, TextDecoder });
    vm.runInContext(dist(file).toString(), page);
    const exports = await import(module);
    assert.deepEqual(Object.keys(page[global] ?? {}).sort(), Object.keys(exports).sort(), file);
    for (const key of Object.keys(exports)) assert.equal(typeof page[global][key], typeof exports[key], `${global}.${key}`);
  }
});

test("every entry point in package.json exists, with its declarations", async () => {
  for (const [name, entry] of Object.entries(pkg.exports)) {
    dist(path.relative("./dist", entry.import));
    const types = dist(path.relative("./dist", entry.types)).toString();
    assert.ok(!types.includes("_onopen"), `${entry.types} declares internal members`);
    const module = await import(`${pkg.name}${name.slice(1)}`);
    assert.ok(typeof module.parser?.Encoder === "function", `${name} exports a parser`);
  }
  const main = await import(pkg.name);
  assert.deepEqual(Object.keys(main).sort(), ["Manager", "Socket", "connect", "default", "io", "parser"]);
  assert.equal(main.connect, main.io);
});

describe("the minified builds against a Tidings server", () => {
  const servers = {};
  before(async () => {
    servers.json = await startTidings("socketio-testbed");
    servers.msgpack = await startTidings("socketio-testbed", { PARSER: "msgpack" });
  });
  after(() => Object.values(servers).forEach((server) => server.stop()));

  for (const parserName of ["json", "msgpack"]) {
    test(`events, acks and binary, ${parserName} parser`, async () => {
      const { io } = await import(pkg.name);
      const parser = parserName === "msgpack" ? { parser: (await import(`${pkg.name}/msgpack`)).parser } : {};
      const socket = io(servers[parserName].url, { forceNew: true, ...NODE, ...parser, transports: ["polling", "websocket"] });
      const upgraded = once(socket.io.engine, "upgrade");
      try {
        const back = once(socket, "emit-back");
        socket.emit("emit-back", "buffered", new Uint8Array([1, 2, 3]));
        await connected(socket);
        const [text, binary] = await back;
        assert.equal(text, "buffered");
        assert.deepEqual([...new Uint8Array(binary)], [1, 2, 3]);
        assert.equal(await socket.emitWithAck("sum", 2, 3), 5);
        assert.deepEqual(await socket.timeout(2_000).emitWithAck("echo", { nested: [1, "two"] }), { nested: [1, "two"] });
        await upgraded;
        assert.equal(await socket.emitWithAck("sum", 4, 5), 9);
      } finally {
        socket.disconnect();
      }
    });
  }
});
