// The official engine.io-client against the testbed: one echo per transport mode.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Socket } from "engine.io-client";
import { startServer } from "../lib/server.mjs";

const MODES = {
  "websocket only": ["websocket"],
  "polling only": ["polling"],
  "polling then upgrade": ["polling", "websocket"],
};

describe("engine.io-client smoke", () => {
  let server;
  before(async () => {
    server = await startServer("engineio-testbed");
  });
  after(() => server.stop());

  for (const [mode, transports] of Object.entries(MODES)) {
    it(`echoes text and binary (${mode})`, async () => {
      const socket = new Socket(server.url, { transports, path: "/engine.io/" });
      const received = [];
      await new Promise((resolve, reject) => {
        socket.on("error", reject);
        socket.on("open", () => {
          socket.send("hello");
          socket.send(Buffer.from([1, 2, 3]));
        });
        socket.on("message", (data) => {
          received.push(data);
          if (received.length === 2) resolve();
        });
      });
      socket.close();
      assert.equal(received[0], "hello");
      assert.deepEqual([...received[1]], [1, 2, 3]);
    });
  }
});
