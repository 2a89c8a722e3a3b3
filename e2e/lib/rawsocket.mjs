// Speaks Socket.IO by hand over a raw `ws` WebSocket, without socket.io-client: for tests that
// need what the official client hides or cannot do, such as a client that stops reading, the
// WebSocket close code, or many short-lived connections at little cost each.
import { readFileSync } from "node:fs";
import WebSocket from "ws";
import { EVENT_TIMEOUT } from "./socketio.mjs";

/** The testbed's WebSocket URL for the server at `url` (`http://127.0.0.1:PORT`). */
export function wsUrl(url) {
  return `${url.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`;
}

/**
 * A Socket.IO connection to namespace `/` over a raw WebSocket, with the JSON parser's text
 * packets. Engine.IO pings are answered while it reads.
 */
export class RawSocket {
  /**
   * Opens the WebSocket, sends CONNECT and resolves once the server's reply came; rejects
   * on an error, an early close or after `timeout` ms.
   */
  static open(url, { timeout = EVENT_TIMEOUT } = {}) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(wsUrl(url));
      const socket = new RawSocket(ws);
      const timer = setTimeout(() => {
        ws.terminate();
        reject(new Error(`no CONNECT reply within ${timeout} ms`));
      }, timeout);
      const fail = (error) => {
        clearTimeout(timer);
        reject(error);
      };
      ws.once("error", fail);
      ws.once("close", (code) => fail(new Error(`closed with ${code} before CONNECT`)));
      socket.connected = (id) => {
        clearTimeout(timer);
        ws.off("error", fail);
        ws.removeAllListeners("close");
        ws.on("error", () => {});
        ws.once("close", (code) => socket.onClose(code));
        socket.id = id;
        resolve(socket);
      };
    });
  }

  constructor(ws) {
    this.ws = ws;
    this.id = null;
    this.listeners = new Set();
    this.closed = new Promise((resolve) => {
      this.onClose = resolve;
    });
    ws.on("message", (data, binary) => {
      if (binary) return;
      const packet = data.toString();
      if (packet === "2") ws.send("3");
      else if (packet.startsWith("0")) ws.send("40");
      else if (this.id === null && packet.startsWith("40")) {
        this.connected(JSON.parse(packet.slice(2)).sid);
      } else for (const listener of this.listeners) listener(packet);
    });
  }

  /** Calls `listener` with every text packet after the CONNECT reply (`42[...]`, `1`, …). */
  onPacket(listener) {
    this.listeners.add(listener);
  }

  /** Emits `event` with `args` (no ack). */
  emit(event, ...args) {
    this.ws.send(`42${JSON.stringify([event, ...args])}`);
  }

  /** Stops reading from the socket: what the server sends piles up in its buffers. */
  pause() {
    this.ws._socket.pause();
  }

  /** Reads again. */
  resume() {
    this.ws._socket.resume();
  }

  /** Closes the WebSocket and resolves with the close code once it is closed. */
  close() {
    this.ws.close();
    return this.closed;
  }
}

/** The resident memory of process `pid`, in bytes: now (`VmRSS`) or at its peak (`VmHWM`). */
export function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (name) => Number(status.match(new RegExp(`${name}:\\s+(\\d+) kB`))[1]);
  return { rss: kib("VmRSS") * 1024, peak: kib("VmHWM") * 1024 };
}

/** `bytes` in MiB, rounded to one decimal, for messages. */
export function mib(bytes) {
  return Math.round((bytes / 1024 / 1024) * 10) / 10;
}
