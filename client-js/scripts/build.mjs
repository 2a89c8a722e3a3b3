// Builds the package into dist/:
// - tidings.js: the ES module (minified, es2020), what `import "tidings-client"` loads;
// - tidings.min.js: the same for a <script> tag, exposing the global `tidings`;
// - index.d.ts and the other declarations, by tsc;
// then prints the size of tidings.min.js, minified and gzipped (level 9): the figure the
// 6 KB budget is about.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const entry = path.join(root, "src/index.ts");
const dist = path.join(root, "dist");

if (!existsSync(entry)) {
  console.error("build: src/index.ts, the package's entry, does not exist yet");
  process.exit(1);
}
rmSync(dist, { recursive: true, force: true });

const common = { entryPoints: [entry], bundle: true, minify: true, target: "es2020", logLevel: "warning" };
await build({ ...common, format: "esm", outfile: path.join(dist, "tidings.js") });
await build({ ...common, format: "iife", globalName: "tidings", outfile: path.join(dist, "tidings.min.js") });

const tsc = spawnSync(
  process.execPath,
  [path.join(root, "node_modules/typescript/bin/tsc"), "-p", root, "--emitDeclarationOnly", "--declaration", "--rootDir", path.join(root, "src"), "--outDir", dist],
  { stdio: "inherit" },
);
if (tsc.status !== 0) {
  console.error("build: tsc could not write the type declarations");
  process.exit(1);
}

const bundle = readFileSync(path.join(dist, "tidings.min.js"));
const gzipped = gzipSync(bundle, { level: 9 });
console.log(`tidings.min.js: ${bundle.length} B min, ${gzipped.length} B gzip`);
