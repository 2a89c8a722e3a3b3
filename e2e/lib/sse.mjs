// A minimal client of the Tidings `sse` transport, built from the real npm `eventsource`
// (downstream), fetch (POSTs) and `ws` (the upgrade WebSocket).
import { EventSource } from "eventsource";
import WebSocket from "ws";
import { EVENT_TIMEOUT } from "./engineio.mjs";

/** Resolves when `predicate()` holds, re-checking whenever `notify` is called. */
class Waiters {
  constructor() {
    this.list = [];
  }

  until(predicate, what, timeout = EVENT_TIMEOUT) {
    return new Promise((resolve, reject) => {
      const waiter = { predicate, resolve, reject };
      waiter.timer = setTimeout(() => {
        this.list = this.list.filter((w) => w !== waiter);
        reject(new Error(`timed out after ${timeout} ms waiting for ${what}`));
      }, timeout);
      this.list.push(waiter);
      this.notify();
    });
  }

  notify() {
    for (const waiter of [...this.list]) {
      let value;
      try {
        value = waiter.predicate();
      } catch (error) {
        this.settle(waiter);
        waiter.reject(error);
        continue;
      }
      if (value !== undefined && value !== false) {
        this.settle(waiter);
        waiter.resolve(value);
      }
    }
  }

  settle(waiter) {
    clearTimeout(waiter.timer);
    this.list = this.list.filter((w) => w !== waiter);
  }
}

const isMessage = (packet) => packet.startsWith("4") || packet.startsWith("b");

/**
 * One SSE session. Every packet the stream delivers is kept in `packets` as
 * `{ packet, event }` (`event` is the SSE event type: `message` or `json`). Pings are
 * answered with a POSTed `3` while `answerPings` is true. The EventSource is closed on a noop
 * (the session moved to WebSocket) or a close packet, so it never reconnects. `path` is the
 * server's Engine.IO path (`/socket.io/` for a Socket.IO server).
 */
export class SseClient {
  constructor(baseUrl, { answerPings = true, path = "/engine.io/" } = {}) {
    this.baseUrl = baseUrl;
    this.path = path;
    this.answerPings = answerPings;
    this.packets = [];
    this.pings = 0;
    this.requests = 0;
    this.lastPost = Promise.resolve();
    this.response = null;
    this.failure = null;
    this.waiters = new Waiters();
    this.source = new EventSource(`${baseUrl}${path}?EIO=4&transport=sse`, {
      fetch: async (input, init) => {
        this.requests++;
        const response = await fetch(input, init);
        this.response = response;
        return response;
      },
    });
    this.source.addEventListener("message", (event) => this.onPacket(event.data, "message"));
    this.source.addEventListener("json", (event) =>
      this.onPacket(JSON.parse(event.data), "json"),
    );
    this.source.addEventListener("error", (event) => {
      // The stream ended or failed without a noop or close packet first.
      const detail = `${event.message ?? "ended"} (${event.code ?? ""})`;
      this.source.close();
      this.fail(new Error(`event stream error: ${detail}`));
    });
  }

  /** Opens a session and resolves with the client once the open packet has arrived. */
  static async open(baseUrl, options) {
    const client = new SseClient(baseUrl, options);
    try {
      await client.handshake();
    } catch (error) {
      client.close();
      throw error;
    }
    return client;
  }

  onPacket(packet, event) {
    this.packets.push({ packet, event });
    if (packet === "2") {
      this.pings++;
      if (this.answerPings) {
        this.post("3").then(
          ({ status, body }) => {
            if (status !== 200) this.fail(new Error(`pong refused: ${status} ${body}`));
          },
          (error) => this.fail(error),
        );
      }
    }
    if (packet === "6" || packet === "1") this.source.close();
    this.waiters.notify();
  }

  fail(error) {
    this.failure ??= error;
    this.waiters.notify();
  }

  /** Resolves when some packet satisfies `predicate`, with that packet's record. */
  until(predicate, what, timeout) {
    return this.waiters.until(
      () => {
        const found = this.packets.find((record) => predicate(record.packet));
        if (found) return found;
        if (this.failure) throw this.failure;
        return undefined;
      },
      what,
      timeout,
    );
  }

  async handshake() {
    const { packet } = await this.until((p) => p.startsWith("0"), "the open packet");
    this.open = JSON.parse(packet.slice(1));
    this.sid = this.open.sid;
    return this.open;
  }

  /** The message packets (`4…` and `b…`) received so far, in order. */
  messages() {
    return this.packets.map((r) => r.packet).filter(isMessage);
  }

  /** Resolves with the message packets once there are at least `count`. */
  untilMessages(count, timeout) {
    return this.waiters.until(
      () => {
        const messages = this.messages();
        if (messages.length >= count) return messages;
        if (this.failure) throw this.failure;
        if (this.source.readyState === EventSource.CLOSED) {
          throw new Error(`stream ended after ${messages.length}/${count} messages`);
        }
        return undefined;
      },
      `${count} messages`,
      timeout,
    );
  }

  /** Resolves once at least `count` pings have arrived (while the stream is open). */
  untilPings(count, timeout) {
    return this.waiters.until(
      () => {
        if (this.pings >= count) return true;
        if (this.failure) throw this.failure;
        if (this.source.readyState === EventSource.CLOSED) {
          throw new Error(`stream ended after ${this.pings}/${count} pings`);
        }
        return undefined;
      },
      `${count} pings`,
      timeout,
    );
  }

  /** The URL of this session's requests (POSTs). */
  url() {
    return `${this.baseUrl}${this.path}?EIO=4&transport=sse&sid=${this.sid}`;
  }

  /**
   * POSTs `packets` as one payload; resolves with `{ status, body }`. POSTs go one at a time,
   * in call order, as in long-polling: the server refuses (and closes the session on) a POST
   * that overlaps another.
   */
  post(...packets) {
    const send = async () => {
      const response = await fetch(this.url(), {
        method: "POST",
        headers: { "content-type": "text/plain;charset=UTF-8" },
        body: packets.join("\x1e"),
      });
      return { status: response.status, body: await response.text() };
    };
    const request = this.lastPost.then(send, send);
    this.lastPost = request.catch(() => {});
    return request;
  }

  /**
   * Resolves once every POST has been answered. Like engine.io-client pausing polling, an
   * upgrading client must wait for this before it sends `5`: the session stops taking POSTs
   * over SSE once it runs on WebSocket, so a pong still in flight would be lost.
   */
  async settled() {
    let last;
    do {
      last = this.lastPost;
      await last;
    } while (last !== this.lastPost);
  }

  close() {
    this.source.close();
  }
}

/** The `ws` WebSocket that takes over an SSE session, recording what it receives. */
export class UpgradeSocket {
  /** The WebSocket that takes over session `sid` of the server at `baseUrl` (http://…). */
  static forSession(baseUrl, sid) {
    const url = `${baseUrl.replace(/^http/, "ws")}/engine.io/?EIO=4&transport=websocket&sid=${sid}`;
    return new UpgradeSocket(url);
  }

  constructor(url) {
    this.frames = [];
    this.closed = null;
    this.failure = null;
    this.waiters = new Waiters();
    this.socket = new WebSocket(url);
    this.socket.on("message", (data, isBinary) => {
      const frame = isBinary ? Buffer.from(data) : data.toString();
      this.frames.push(frame);
      // Answer pings once the session runs here.
      if (frame === "2") this.socket.send("3");
      this.waiters.notify();
    });
    this.socket.on("close", (code) => {
      this.closed = code;
      this.waiters.notify();
    });
    this.socket.on("error", (error) => {
      this.failure ??= error;
      this.waiters.notify();
    });
    this.opened = new Promise((resolve, reject) => {
      this.socket.once("open", resolve);
      this.socket.once("error", reject);
    });
  }

  send(data) {
    this.socket.send(data);
  }

  /** Resolves with the frames received so far once `predicate(frames)` holds. */
  until(predicate, what, timeout) {
    return this.waiters.until(
      () => {
        if (predicate(this.frames)) return this.frames;
        if (this.failure) throw this.failure;
        if (this.closed !== null) {
          throw new Error(`WebSocket closed (${this.closed}) waiting for ${what}`);
        }
        return undefined;
      },
      what,
      timeout,
    );
  }

  /** The message packets (text `4…` and binary frames) received so far, in order. */
  messages() {
    return this.frames.filter((f) => Buffer.isBuffer(f) || f.startsWith("4"));
  }

  /** Resolves with the message packets once there are at least `count`. */
  untilMessages(count, timeout) {
    return this.until(() => this.messages().length >= count, `${count} messages`, timeout).then(
      () => this.messages(),
    );
  }

  close() {
    this.socket.close();
  }
}
