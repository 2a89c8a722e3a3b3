// Builds the package into dist/:
// - tidings.js: the ES module (minified), what `import "tidings-client"` loads;
// - tidings.min.js: the same for a <script> tag, exposing the global `tidings`;
// - msgpack.js and msgpack.min.js (global `tidingsMsgpack`): the msgpack parser, apart so that
//   the main bundle does not carry it;
// - index.d.ts, msgpack.d.ts and the declarations they use, by tsc;
// then prints each browser bundle's size, minified and gzipped (level 9): the 6 KB budget is
// about tidings.min.js (test/package.test.mjs holds it).
//
// The target is ES2022, so private fields (`#x`) stay native instead of becoming WeakMap
// helpers (about 600 B gzipped). Members named `_x` are internal to the bundle (calls between
// the manager and its sockets): their names are shortened, and tsc leaves them out of the
// declarations (`@internal`, stripInternal).
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const dist = path.join(root, "dist");

rmSync(dist, { recursive: true, force: true });

const common = {
  bundle: true,
  minify: true,
  target: "es2022",
  mangleProps: /^_/,
  // A wire-format key (socket.io-parser's binary placeholders), not an internal member.
  reserveProps: /^_placeholder$/,
  logLevel: "warning",
};
// Each module, and the script that sets its global (src/browser.ts, src/msgpack-browser.ts).
const bundles = [
  { name: "tidings", module: "src/index.ts", script: "src/browser.ts" },
  { name: "msgpack", module: "src/msgpack.ts", script: "src/msgpack-browser.ts" },
];
for (const { name, module, script } of bundles) {
  const at = (entry) => [path.join(root, entry)];
  await build({ ...common, entryPoints: at(module), format: "esm", outfile: path.join(dist, `${name}.js`) });
  await build({ ...common, entryPoints: at(script), format: "iife", outfile: path.join(dist, `${name}.min.js`) });
}

const tsc = spawnSync(
  process.execPath,
  [path.join(root, "node_modules/typescript/bin/tsc"), "-p", root, "--emitDeclarationOnly", "--declaration", "--stripInternal", "--rootDir", path.join(root, "src"), "--outDir", dist],
  { stdio: "inherit" },
);
if (tsc.status !== 0) {
  console.error("build: tsc could not write the type declarations");
  process.exit(1);
}

for (const { name } of bundles) {
  const bundle = readFileSync(path.join(dist, `${name}.min.js`));
  const gzipped = gzipSync(bundle, { level: 9 });
  console.log(`${name}.min.js: ${bundle.length} B min, ${gzipped.length} B gzip`);
}
