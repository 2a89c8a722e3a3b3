/**
 * A Manager: one Engine.IO connection, shared by the sockets of its namespaces. It encodes
 * and decodes packets, hands each to its namespace's socket, and reconnects with exponential
 * backoff when the connection is lost.
 */
import { Emitter } from "../emitter";
import { EngineSocket } from "../engine/socket";
import { backoff } from "./backoff";
import { parser as json } from "./parser";
import { Socket } from "./socket";
import type {
  DefaultEventsMap,
  EventsMap,
  ManagerEvents,
  ManagerOptions,
  Packet,
  Parser,
  SocketOptions,
} from "./types";

/**
 * One connection to a server (`io()` makes them; `new Manager(url, opts)` for a connection of
 * your own), with the events `open`, `close`, `error`, `reconnect_attempt`, `reconnect`,
 * `reconnect_error` and `reconnect_failed`. `manager.socket(nsp)` gives a namespace's socket.
 */
export class Manager<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
> extends Emitter<ManagerEvents> {
  /** The server's URL. */
  readonly uri: string;
  /** The options (with `path` set). */
  readonly opts: ManagerOptions;
  /** The sockets, by namespace. */
  readonly nsps: Record<string, Socket<ListenEvents, EmitEvents>> = {};
  /** The current connection. */
  engine: EngineSocket | undefined;
  /** @internal */
  _readyState: "opening" | "open" | "closed" = "closed";
  /** @internal Waiting to reconnect, or reconnecting. */
  _reconnecting = false;

  #skipReconnect = false;
  #attempts = 0;
  #subs: (() => void)[] = [];
  #parser: Parser;
  #encoder: InstanceType<Parser["Encoder"]>;
  #decoded: Packet[] = [];

  constructor(uri: string, opts: ManagerOptions = {}) {
    super();
    this.uri = uri;
    this.opts = { path: "/socket.io/", ...opts };
    this.#parser = opts.parser ?? json;
    this.#encoder = new this.#parser.Encoder();
    if (opts.autoConnect !== false) this.open();
  }

  /** The socket of namespace `nsp`, created on first use. */
  socket(nsp: string, opts?: SocketOptions): Socket<ListenEvents, EmitEvents> {
    let socket = this.nsps[nsp];
    if (!socket) this.nsps[nsp] = socket = new Socket(this as unknown as Manager, nsp, opts);
    else if (this.opts.autoConnect !== false && !socket.active) socket.connect();
    return socket;
  }

  /**
   * Opens the connection, unless it is open or opening. `callback` is called once it opens,
   * or with the error when it cannot (and then no reconnection is tried).
   */
  open(callback?: (err?: Error) => void): this {
    if (this._readyState !== "closed") return this;
    const engine = (this.engine = this.createEngine(this.uri, this.opts));
    const decoder = new this.#parser.Decoder();
    decoder.on("decoded", (packet) => this.#decoded.push(packet));
    this._readyState = "opening";
    this.#skipReconnect = false;
    let opened = false;
    engine.on("open", () => {
      opened = true;
      this.#cleanup();
      this._readyState = "open";
      this.fire("open");
      this.#each((socket) => socket._onopen());
      callback?.();
    });
    engine.on("message", (data) => {
      if (engine !== this.engine) return;
      try {
        decoder.add(data);
      } catch (err) {
        this.#decoded = [];
        this.#onclose("parse error", err);
        return;
      }
      for (const packet of this.#decoded.splice(0)) {
        const socket = this.nsps[packet.nsp];
        if (socket?.active) socket._onpacket(packet);
      }
    });
    const onclose = (reason: string, description?: unknown) => {
      if (engine !== this.engine) return;
      if (opened) return this.#onclose(reason, description);
      // The connection could not open.
      this.#cleanup();
      this.engine = undefined;
      this._readyState = "closed";
      // A WebSocket's error is an event, not an Error: it goes along as `description`.
      const err = description instanceof Error ? description : Object.assign(new Error(reason), { description });
      this.fire("error", err);
      this.#each((socket) => socket._onerror(err));
      if (callback) callback(err);
      else if (!this._reconnecting && this.opts.reconnection !== false && !this.#attempts) this.#reconnect();
    };
    engine.on("close", onclose);
    // It may have failed at once (no transport it could even start): tell once the caller,
    // still inside `io()`, has had a chance to listen for `connect_error`.
    if (engine.readyState === "closed") queueMicrotask(() => onclose("transport error"));
    return this;
  }

  /** The same as `open()`. */
  connect(callback?: (err?: Error) => void): this {
    return this.open(callback);
  }

  /** Closes the connection; no reconnection. */
  disconnect(): void {
    this.#skipReconnect = true;
    this._reconnecting = false;
    this.#onclose("forced close");
  }

  /** Creates the Engine.IO connection; a subclass can give another (a test double, say). */
  protected createEngine(uri: string, opts: ManagerOptions): EngineSocket {
    return new EngineSocket(uri, opts);
  }

  /** @internal Sends a packet. */
  _packet(packet: Packet): void {
    for (const message of this.#encoder.encode(packet)) this.engine?.send(message);
  }

  /** @internal Whether a packet sent now goes out (not queued behind a closed transport). */
  _writable(): boolean {
    return this.engine?.readyState === "open";
  }

  /** @internal A socket left: closes the connection when none is left. */
  _destroy(): void {
    if (!Object.values(this.nsps).some((socket) => socket.active)) this.disconnect();
  }

  #each(f: (socket: Socket<ListenEvents, EmitEvents>) => void): void {
    for (const socket of Object.values(this.nsps)) if (socket.active) f(socket);
  }

  #cleanup(): void {
    for (const sub of this.#subs.splice(0)) sub();
  }

  #onclose(reason: string, description?: unknown): void {
    this.#cleanup();
    const engine = this.engine;
    this.engine = undefined;
    engine?.close();
    this.#attempts = 0;
    this._readyState = "closed";
    this.fire("close", reason, description);
    this.#each((socket) => socket._onclose(reason, description));
    if (this.opts.reconnection !== false && !this.#skipReconnect) this.#reconnect();
  }

  /** Schedules the next attempt (at once when `now`), or gives up. */
  #reconnect(now?: boolean): void {
    if (this._reconnecting || this.#skipReconnect) return;
    const opts = this.opts;
    if (this.#attempts >= (opts.reconnectionAttempts || Infinity)) {
      this.#attempts = 0;
      this.fire("reconnect_failed");
      return;
    }
    const delay = backoff(
      this.#attempts++,
      opts.reconnectionDelay || 1000,
      opts.reconnectionDelayMax || 5000,
      opts.randomizationFactor ?? 0.5,
    );
    this._reconnecting = true;
    const timer = setTimeout(
      () => {
        if (this.#skipReconnect) return;
        this.fire("reconnect_attempt", this.#attempts);
        if (this.#skipReconnect) return;
        this.open((err) => {
          this._reconnecting = false;
          if (err) {
            this.#reconnect();
            this.fire("reconnect_error", err);
          } else {
            const attempts = this.#attempts;
            this.#attempts = 0;
            this.fire("reconnect", attempts);
          }
        });
      },
      now ? 0 : delay,
    );
    // Back online (browsers): try again now, from the first delay.
    const online = () => {
      if (this._readyState !== "closed") return;
      this.#cleanup();
      this.#attempts = 0;
      this._reconnecting = false;
      this.#reconnect(true);
    };
    globalThis.addEventListener?.("online", online);
    this.#subs.push(
      () => clearTimeout(timer),
      () => globalThis.removeEventListener?.("online", online),
    );
  }
}
