// The soak in its short form: 25 s with 60 normal clients and every kind of attacker at once
// (`scripts/soak --duration 25s --clients 60`, against the debug build). The server must stay
// up, every normal client connected and answered, every attacker answered as the protocol
// says, and the memory and descriptors must come back down; the run takes about 35 s.
//
// The latency bound is loose (2 s) as CI machines are shared: the latencies themselves are the
// long run's business (docs/soak.md).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));

test("normal clients and the server come through a short soak unharmed", { timeout: 110_000 }, async () => {
  const args = ["--duration", "25s", "--clients", "60", "--max-p99-ms", "2000"];
  const child = spawn(process.execPath, [path.join(here, "run.mjs"), ...args], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let report = "";
  let progress = "";
  child.stdout.on("data", (chunk) => {
    report += chunk;
  });
  child.stderr.on("data", (chunk) => {
    progress += chunk;
  });
  const code = await new Promise((resolve) => child.once("exit", resolve));
  assert.match(report, /## Verdict: PASS/, `${progress}\n${report}`);
  assert.equal(code, 0, report);
  // The attackers that are sure to finish rounds in the time saw the refusals they had to.
  for (const outcome of [
    "HTTP 400 code 1",
    "ws close 1009",
    "HTTP 413 code 3",
    "Rate limit exceeded, then DISCONNECT",
    "closed by the heartbeat",
  ]) {
    assert.ok(report.includes(outcome), `no "${outcome}" in the report:\n${report}`);
  }
});
