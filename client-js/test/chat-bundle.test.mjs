// The chat example (examples/chat) serves a copy of dist/tidings.min.js built into its binary,
// committed so that `cargo run -p chat` needs no npm. This fails when the copy differs from
// the fresh build `npm test` has just made, so that a change to the client reaches the chat.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const built = path.join(root, "dist/tidings.min.js");
const copy = path.join(root, "../examples/chat/public/tidings.min.js");

test("the chat example's copy of the bundle is the fresh build", () => {
  assert.ok(existsSync(built), "dist/tidings.min.js is missing: run `npm run build` in client-js first");
  assert.ok(
    readFileSync(built).equals(readFileSync(copy)),
    "examples/chat/public/tidings.min.js differs from client-js/dist/tidings.min.js: after " +
      "`npm run build` in client-js, run `cp client-js/dist/tidings.min.js examples/chat/public/` " +
      "and commit it",
  );
});
