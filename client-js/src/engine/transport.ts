/**
 * The transport contract, and what the two HTTP transports (long-polling and SSE) share: the
 * POST upstream and the pause before an upgrade.
 *
 * A transport moves packets; the engine socket (`socket.ts`) owns the session: handshake,
 * heartbeat, buffering, upgrade and fallback.
 */
import type { EngineOptions } from "./types";
import { byteLength, encodePayload, type Packet } from "./packet";

/** What a transport tells the engine socket. */
export interface Hooks {
  /** A packet from the server. */
  packet(packet: Packet): void;
  /** The transport can take packets: it connected, or its POST was answered. */
  drain(): void;
  /**
   * The transport ended by itself: `"transport close"`, `"transport error"` or
   * `"parse error"`. Never called once the socket called `close()`.
   */
  close(reason: string, error?: unknown): void;
}

/** One connection to the server, for one session. */
export interface Transport {
  /** Whether `send` may be called now. */
  writable: boolean;
  /**
   * Takes packets from the head of `queue` and sends them: all of them, or (HTTP) as many as fit
   * in `maxPayload` bytes, at least one.
   */
  send(queue: Packet[], maxPayload?: number): void;
  /** HTTP only: stops reading once the downstream is idle and no POST is in flight, then calls `done`. */
  pause?(done: () => void): void;
  /** HTTP only: the upgrade failed (paused or not): reads on. */
  resume?(): void;
  /** Ends the transport at once, or once it has sent `last`. Calls no hook from then on. */
  close(last?: Packet[]): void;
}

/** Opens a transport; `uri()` is the URL of its next request (it gains `sid` once open). */
export type TransportFactory = (uri: () => string, options: EngineOptions, hooks: Hooks) => Transport;

/**
 * The base of an HTTP transport: POSTs go one at a time, each a payload of what was queued.
 * The downstream (a GET loop, an event stream) tells whether it is `idle()` (nothing in flight
 * that could still carry packets), goes on after a failed upgrade on `resume()` and is stopped
 * by `stop()`. A downstream ends by itself on a noop, which the server sends once it answered
 * an upgrade probe.
 */
export const http = (
  uri: () => string,
  options: EngineOptions,
  hooks: Hooks,
  idle: () => boolean,
  resume: () => void,
  stop?: () => void,
) => {
  const abort = new AbortController();
  let last: Packet[] | undefined;
  let paused: (() => void) | undefined;
  const end = () => {
    stop?.();
    abort.abort();
  };

  const post = (packets: Packet[]) => {
    t.writable = false;
    t.request(encodePayload(packets)).then(
      () => {
        t.writable = true;
        if (t.live) {
          t.check();
          hooks.drain();
        } else if (last) {
          post(last);
          last = undefined;
        } else end();
      },
      (error) => (t.live ? t.fail("transport error", error) : end()),
    );
  };

  const t = {
    live: true,
    writable: true,
    paused: false,

    /** A GET, or a POST of `body`: the text of a 2xx answer. */
    request: (body?: string): Promise<string> => {
      const init: RequestInit = {
        signal: abort.signal,
        credentials: options.withCredentials ? "include" : "same-origin",
      };
      return (options.fetch ?? fetch)(uri(), body == null ? init : { ...init, method: "POST", body }).then(
        async (response) => {
          const text = await response.text();
          if (response.ok) return text;
          throw new Error(`HTTP ${response.status}: ${text}`);
        },
      );
    },

    /** Hands the decoded packets up, in order, while the transport lives. */
    deliver(decode: () => Packet[]) {
      let packets: Packet[];
      try {
        packets = decode();
      } catch (error) {
        return t.fail("parse error", error);
      }
      for (const packet of packets) if (t.live) hooks.packet(packet);
    },

    fail(reason: string, error?: unknown) {
      if (t.live) {
        t.close();
        hooks.close(reason, error);
      }
    },

    /** Calls the pause callback once nothing is in flight. */
    check() {
      const done = paused;
      if (done && t.writable && idle()) {
        paused = undefined;
        done();
      }
    },

    send(queue: Packet[], maxPayload = Infinity) {
      let count = 1;
      let size = byteLength(queue[0]!);
      while (count < queue.length && (size += 1 + byteLength(queue[count]!)) <= maxPayload) count++;
      post(queue.splice(0, count));
    },

    pause(done: () => void) {
      t.paused = true;
      paused = done;
      t.check();
    },

    resume() {
      t.paused = false;
      paused = undefined;
      resume();
    },

    /** The downstream stays until `packets` were posted: a server sees it go as the client leaving. */
    close(packets?: Packet[]) {
      t.live = false;
      if (!packets) end();
      else if (t.writable) post(packets);
      else last = packets;
    },
  };
  return t;
};
