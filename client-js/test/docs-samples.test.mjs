// The TypeScript samples of the docs compile: every ```ts block of the repository's README,
// docs/ and this package's README is type-checked, each as a module of its own, against the
// client's sources (`tidings-client` and `tidings-client/msgpack` name `src/`), with the
// package's strict tsconfig.json.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const repo = path.resolve(root, "..");

/** The markdown files whose samples are checked, relative to the repository. */
const SOURCES = [
  "README.md",
  "client-js/README.md",
  ...readdirSync(path.join(repo, "docs"))
    .filter((name) => name.endsWith(".md"))
    .map((name) => `docs/${name}`),
];

/** Every ```ts (or ```typescript) block of `file`: its text and the line it starts on. */
function samples(file) {
  const found = [];
  let block = null;
  readFileSync(path.join(repo, file), "utf8")
    .split("\n")
    .forEach((line, i) => {
      if (block) {
        if (/^\s*```\s*$/.test(line)) {
          found.push(block);
          block = null;
        } else block.lines.push(line);
      } else if (/^\s*```(ts|typescript)\s*$/.test(line)) block = { file, line: i + 2, lines: [] };
    });
  return found;
}

test("the TypeScript samples of the docs type-check", async () => {
  const all = SOURCES.flatMap(samples);
  assert.ok(all.length >= 10, `only ${all.length} samples found`);
  // Under node_modules, so that the samples' other imports (`ws`, `eventsource`) resolve to
  // this package's devDependencies.
  const dir = path.join(root, "node_modules", ".cache", "docs-samples");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  try {
    const where = new Map();
    const files = all.map((sample, i) => {
      const name = `sample${i}.ts`;
      where.set(name, sample);
      // `export {}` makes a sample without imports a module too (isolatedModules).
      writeFileSync(path.join(dir, name), sample.lines.join("\n") + "\nexport {};\n");
      return name;
    });
    writeFileSync(
      path.join(dir, "tsconfig.json"),
      JSON.stringify({
        extends: path.join(root, "tsconfig.json"),
        compilerOptions: {
          noEmit: true,
          declaration: false,
          noUnusedLocals: false,
          noUnusedParameters: false,
          rootDir: "/",
          paths: {
            "tidings-client": [path.join(root, "src/index.ts")],
            "tidings-client/msgpack": [path.join(root, "src/msgpack.ts")],
          },
        },
        include: [],
        files,
      }),
    );
    const tsc = path.join(root, "node_modules/.bin/tsc");
    const output = await new Promise((resolve) =>
      execFile(tsc, ["-p", dir, "--pretty", "false"], (error, stdout, stderr) =>
        resolve({ code: error?.code ?? 0, text: stdout + stderr }),
      ),
    );
    // Name each error by the markdown file and line of its sample.
    const text = output.text.replace(/(?:[^\s(]*\/)?(sample\d+\.ts)\((\d+),(\d+)\)/g, (all, name, line, column) => {
      const sample = where.get(name);
      return sample ? `${sample.file}:${sample.line + Number(line) - 1}:${column}` : all;
    });
    assert.equal(output.code, 0, text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
