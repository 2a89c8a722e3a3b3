// Loads client sources for the tests: bundles a TypeScript entry with esbuild (ESM, es2022 as
// the package, not minified, with an inline source map) into a temporary file and imports it.
// Each entry is built once per test process.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";

const clientRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const built = new Map();
let dir;

/** The module of `entry`, a path relative to `client-js/` such as `src/engine/socket.ts`. */
export function load(entry) {
  if (!built.has(entry)) built.set(entry, bundle(entry));
  return built.get(entry);
}

/** The engine layer: `{ EngineSocket, forgetTransports }`. */
export const loadEngine = () => load("src/engine/socket.ts");

async function bundle(entry) {
  const result = await build({
    entryPoints: [path.join(clientRoot, entry)],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    sourcemap: "inline",
    write: false,
    logLevel: "silent",
  });
  if (!dir) {
    dir = mkdtempSync(path.join(tmpdir(), "tidings-client-test-"));
    process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  }
  const file = path.join(dir, entry.replace(/[\\/]/g, "_").replace(/\.ts$/, ".mjs"));
  writeFileSync(file, result.outputFiles[0].contents);
  return import(pathToFileURL(file).href);
}
