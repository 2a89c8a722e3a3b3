// The typed API: a TypeScript file that uses the client with typed event maps must compile,
// and the misuses marked `@ts-expect-error` must be errors (else `tsc` reports the marker).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

const USAGE = `
import { io, Manager, type Socket } from "${root}/src/index";
import { parser } from "${root}/src/msgpack";

interface ServerToClient {
  news: (text: string, n: number) => void;
  ask: (q: string, answer: (a: number) => void) => void;
}
interface ClientToServer {
  chat: (text: string) => void;
  sum: (a: number, b: number, ack: (total: number) => void) => void;
}

const socket: Socket<ServerToClient, ClientToServer> = io("http://localhost:3000/chat", {
  parser,
  auth: (cb) => cb({ token: "x" }),
  retries: 3,
  ackTimeout: 1000,
});
socket.on("news", (text, n) => {
  const s: string = text;
  const k: number = n;
  void s, k;
});
socket.on("ask", (q, answer) => answer(q.length));
socket.on("connect", () => {});
socket.on("connect_error", (err) => void [err.data, err.message]);
socket.on("disconnect", (reason: string) => void reason);
socket.emit("chat", "hi");
socket.emit("sum", 1, 2, (total: number) => void total);
socket.timeout(1000).emit("sum", 1, 2, (err: Error, total: number) => void [err, total]);
const sum: Promise<number> = socket.emitWithAck("sum", 1, 2);
const timed: Promise<number> = socket.timeout(5).emitWithAck("sum", 1, 2);
void sum, timed;
socket.volatile.emit("chat", "x");
socket.onAny((event: string, ...args: unknown[]) => void [event, args]);

// @ts-expect-error: a number where a string is expected
socket.emit("chat", 1);
// @ts-expect-error: an event of the other map
socket.emit("news", "a", 1);
// @ts-expect-error: a listener of the wrong type
socket.on("news", (text: number) => void text);
// @ts-expect-error: a missing argument
socket.emitWithAck("sum", 1);
// @ts-expect-error: a reserved event's listener of the wrong type
socket.on("connect", (x: number) => void x);

const manager = new Manager("http://localhost", { reconnectionDelay: 10, autoConnect: false });
manager.on("reconnect_attempt", (n: number) => void n);
// @ts-expect-error: not a Manager event
manager.on("news", () => {});
const untyped = manager.socket("/admin");
untyped.emit("anything", 1, {}, () => {});
untyped.on("whatever", (...args: unknown[]) => void args);
`;

test("typed event maps: right uses compile, wrong ones do not", async () => {
  const dir = mkdtempSync(path.join(tmpdir(), "tidings-client-types-"));
  try {
    writeFileSync(path.join(dir, "usage.ts"), USAGE);
    writeFileSync(
      path.join(dir, "tsconfig.json"),
      JSON.stringify({
        extends: path.join(root, "tsconfig.json"),
        compilerOptions: { noEmit: true, declaration: false, noUnusedLocals: false, rootDir: "/" },
        include: [],
        files: ["usage.ts"],
      }),
    );
    const tsc = path.join(root, "node_modules/.bin/tsc");
    const output = await new Promise((resolve) =>
      execFile(tsc, ["-p", dir], (error, stdout, stderr) => resolve({ code: error?.code ?? 0, text: stdout + stderr })),
    );
    assert.equal(output.code, 0, output.text);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
