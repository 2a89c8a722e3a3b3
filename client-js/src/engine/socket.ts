/**
 * The engine socket: one Engine.IO v4 session over WebSocket, long-polling or SSE.
 *
 * It opens on the first transport that works (falling back along `options.transports`, and
 * starting next time with the one that worked), keeps the session alive (answers pings, and
 * declares it dead when the server is silent for `pingInterval + pingTimeout`), upgrades a
 * polling or SSE session to WebSocket, and buffers sends until the transport can take them.
 */
import { Emitter } from "../emitter";
import type { Packet } from "./packet";
import { polling } from "./polling";
import { sse } from "./sse";
import type { Hooks, Transport, TransportFactory } from "./transport";
import type { EngineEvents, EngineOptions, TransportName } from "./types";
import { websocket } from "./websocket";

const factories: Record<TransportName, TransportFactory> = { websocket, polling, sse };

/** The transport that last opened after a fallback, by endpoint (origin and path). */
const remembered = new Map<string, TransportName>();

/** Forgets which transports worked, so the next sockets start with their first choice again. */
export const forgetTransports = (): void => remembered.clear();

/** The open packet's data. */
interface Handshake {
  sid: string;
  upgrades: string[];
  pingInterval: number;
  pingTimeout: number;
  maxPayload?: number;
}

export class EngineSocket extends Emitter<EngineEvents> {
  /** The session id, once open. */
  id: string | null = null;
  /** The transport in use (or being tried, while opening). */
  transport: TransportName | null = null;
  readyState: "opening" | "open" | "closing" | "closed" = "opening";
  /** Sends a message: buffered until the session is open and while it upgrades. */
  declare send: (data: string | Uint8Array) => void;
  /** Closes the session: what is buffered is still sent; emits `close` with "forced close". */
  declare close: () => void;

  /** Connects to the server at `url` (`http://host:port`), on `options.path` (`/engine.io/`). */
  constructor(url: string, options: EngineOptions = {}) {
    super();
    const endpoint = new URL(options.path?.replace(/\/?$/, "/") ?? "/engine.io/", url).href;
    const wanted = options.transports ?? ["websocket", "polling", "sse"];
    const known = remembered.get(endpoint);
    const order = known && wanted.includes(known) ? [known, ...wanted.filter((name) => name != known)] : wanted;
    const timeout = options.timeout ?? 10000;
    let current: Transport | undefined;
    let probe: Transport | undefined;
    let queue: Packet[] = [];
    let upgrading = false;
    let silence = 0;
    let maxPayload = Infinity;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let probeTimer: ReturnType<typeof setTimeout> | undefined;

    const uri = (transport: TransportName) => {
      const query = new URLSearchParams({ ...options.query, EIO: "4", transport });
      if (this.id) query.set("sid", this.id);
      return (transport == "websocket" ? endpoint.replace(/^http/, "ws") : endpoint) + "?" + query;
    };

    const arm = (ms: number, then: () => void) => {
      clearTimeout(timer);
      timer = setTimeout(then, ms);
    };
    /** The server spoke: it has `silence` ms to speak again. */
    const alive = () => arm(silence, () => end("ping timeout"));

    const end = (reason: string, error?: unknown, last?: Packet[]) => {
      if (this.readyState == "closed") return;
      this.readyState = "closed";
      clearTimeout(timer);
      clearTimeout(probeTimer);
      probe?.close();
      current?.close(last);
      queue = [];
      this.fire("close", reason, error);
    };

    const flush = () => {
      if (this.readyState == "open" && !upgrading && current!.writable && queue.length) current!.send(queue, maxPayload);
    };

    const push = (packet: Packet) => {
      if (this.readyState == "opening" || this.readyState == "open") {
        queue.push(packet);
        flush();
      }
    };

    /** A packet of the open session. */
    const receive = (packet: Packet) => {
      if (this.readyState != "open") return;
      alive();
      if (typeof packet != "string") this.fire("message", packet);
      else if (packet[0] == "4") this.fire("message", packet.slice(1));
      else if (packet == "2") push("3");
      else if (packet == "1") end("transport close");
      else if (!"356".includes(packet[0] ?? "x")) end("parse error", packet);
    };

    const upgrade = () => {
      const fail = () => {
        if (probe != socket) return;
        probe = undefined;
        clearTimeout(probeTimer);
        socket.close();
        upgrading = false;
        current!.resume!();
        flush();
      };
      let socket: Transport;
      try {
        socket = probe = websocket(() => uri("websocket"), options, {
          packet: (packet) => {
            if (current == socket) return receive(packet);
            if (packet != "3probe" || upgrading) return fail();
            alive();
            upgrading = true;
            current!.pause!(() => {
              const old = current!;
              clearTimeout(probeTimer);
              socket.send(["5"]);
              current = socket;
              probe = undefined;
              upgrading = false;
              this.transport = "websocket";
              old.close();
              remembered.delete(endpoint);
              this.fire("upgrade", "websocket");
              flush();
            });
          },
          drain: () => (current == socket ? flush() : socket.send(["2probe"])),
          close: (reason, error) => (current == socket ? end(reason, error) : fail()),
        });
      } catch {
        return;
      }
      probeTimer = setTimeout(fail, timeout);
    };

    const attempt = (index: number) => {
      const name = order[index]!;
      const next = (error: unknown) => {
        current?.close();
        const to = order[index + 1];
        if (!to) return end("transport error", error);
        this.fire("fallback", name, to, error);
        if (this.readyState == "opening") attempt(index + 1);
      };
      const open = (handshake: Handshake) => {
        this.id = handshake.sid;
        this.readyState = "open";
        silence = handshake.pingInterval + handshake.pingTimeout;
        maxPayload = handshake.maxPayload || Infinity;
        if (index) remembered.set(endpoint, name);
        alive();
        if (
          options.upgrade !== false &&
          name != "websocket" &&
          wanted.includes("websocket") &&
          handshake.upgrades.includes("websocket")
        )
          upgrade();
        this.fire("open");
        flush();
      };
      const hooks: Hooks = {
        packet: (packet) => {
          if (this.readyState != "opening") return receive(packet);
          let handshake: Handshake | undefined;
          try {
            if (typeof packet == "string" && packet[0] == "0") handshake = JSON.parse(packet.slice(1));
          } catch {}
          if (typeof handshake?.sid == "string" && Array.isArray(handshake.upgrades)) open(handshake);
          else next(new Error("not an open packet: " + String(packet).slice(0, 100)));
        },
        drain: flush,
        close: (reason, error) => (this.readyState == "opening" ? next(error) : end(reason, error)),
      };
      this.transport = name;
      current = undefined;
      arm(timeout, () => next(new Error("timeout")));
      try {
        current = factories[name](() => uri(name), options, hooks);
      } catch (error) {
        next(error);
      }
    };

    this.send = (data) => push(typeof data == "string" ? "4" + data : data);
    this.close = () => end("forced close", undefined, this.readyState == "open" ? queue.concat("1") : undefined);
    attempt(0);
  }
}
