/**
 * A Socket: one namespace over its Manager's connection. It sends CONNECT when the connection
 * opens, buffers emits until the server accepts it, keeps ack callbacks, replays the events
 * that came before `connect`, keeps what connection state recovery needs (the private id and
 * the last offset), and, with `retries`, sends emits one at a time until they are acked.
 */
import { Emitter } from "../emitter";
import type { Manager } from "./manager";
import {
  type AllButLast,
  type Auth,
  type DecorateAcknowledgements,
  type DefaultEventsMap,
  type EventNames,
  type EventParams,
  type EventsMap,
  type FirstNonErrorArg,
  type Last,
  type Packet,
  PacketType,
  type SocketOptions,
  type SocketReservedEvents,
  type Tuples,
} from "./types";

const RESERVED = ["connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"];

/** An ack callback; `withError` ones get an error (or `null`) first. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AckFn = ((...args: any[]) => void) & { withError?: boolean };

/** A listener of every event: its name, then its arguments. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyListener = (event: string, ...args: any[]) => void;

/** What the next emit does differently. */
interface Flags {
  volatile?: boolean;
  timeout?: number;
  /** Sent from the retry queue. */
  queued?: boolean;
}

/** An emit waiting in the retry queue. */
interface Queued {
  args: unknown[];
  flags: Flags;
  ack: AckFn | undefined;
  tries: number;
  pending: boolean;
}

type Timer = ReturnType<typeof setTimeout>;

/**
 * The socket of one namespace, typed by the events it listens to and the events it emits
 * (maps of listener signatures, as socket.io-client's `Socket<ListenEvents, EmitEvents>`).
 * Reserved events: `connect`, `connect_error` and `disconnect` (emitted only after a
 * `connect`).
 */
export class Socket<
  ListenEvents extends EventsMap = DefaultEventsMap,
  EmitEvents extends EventsMap = ListenEvents,
> extends Emitter<Tuples<ListenEvents> & SocketReservedEvents> {
  /** The Manager whose connection this socket uses. */
  readonly io: Manager;
  /** The namespace. */
  readonly nsp: string;
  /** The id the server gave, while connected. */
  id: string | undefined;
  /** Whether the server accepted the socket in its namespace. */
  connected = false;
  /** Whether the last connection recovered the state of the one before (same id, missed events). */
  recovered = false;
  /** The CONNECT payload, or a function that hands it over at each connection. */
  auth: Auth | undefined;
  /** Packets emitted while disconnected, sent once connected. */
  sendBuffer: Packet[] = [];
  /** Events received before the socket was connected, handed on once it is. */
  receiveBuffer: unknown[][] = [];

  #opts: SocketOptions;
  #active = false;
  #ids = 0;
  #acks: Record<number, [AckFn, boolean, Timer | undefined]> = {};
  #flags: Flags = {};
  #any: AnyListener[] = [];
  #anyOut: AnyListener[] = [];
  #queue: Queued[] = [];
  #pid: string | undefined;
  #offset: string | undefined;

  constructor(io: Manager, nsp: string, opts: SocketOptions = {}) {
    super();
    this.io = io;
    this.nsp = nsp;
    this.auth = opts.auth;
    this.#opts = opts;
    if (io.opts.autoConnect !== false) this.connect();
  }

  /** Whether the socket is not connected. */
  get disconnected(): boolean {
    return !this.connected;
  }

  /** Whether the socket is connected or trying to (and so reconnects with its Manager). */
  get active(): boolean {
    return this.#active;
  }

  /** Connects the socket (opening the Manager's connection if need be). */
  connect(): this {
    if (!this.connected) {
      this.#active = true;
      const io = this.io;
      if (!io._reconnecting) io.open();
      if (io._readyState === "open") this._onopen();
    }
    return this;
  }

  /** The same as `connect()`. */
  open(): this {
    return this.connect();
  }

  /** Leaves the namespace (the connection closes with the last socket); no reconnection. */
  disconnect(): this {
    const connected = this.connected;
    if (connected) this.#packet({ type: PacketType.DISCONNECT, nsp: this.nsp });
    this.#destroy();
    if (connected) this._onclose("io client disconnect");
    return this;
  }

  /** The same as `disconnect()`. */
  close(): this {
    return this.disconnect();
  }

  /** Emits `"message"` with `args`. */
  send(...args: unknown[]): this {
    return this.#emit(["message", ...args]);
  }

  /**
   * Emits `event` with `args`; a function as the last argument is called with the server's
   * ack. Emits made while disconnected are sent once connected.
   */
  emit<Ev extends EventNames<EmitEvents>>(event: Ev, ...args: EventParams<EmitEvents, Ev>): this {
    if (RESERVED.includes(event)) throw new Error(`"${event}" is a reserved event name`);
    return this.#emit([event, ...args]);
  }

  /** Emits `event` with `args` and resolves with the ack's first argument. */
  emitWithAck<Ev extends EventNames<EmitEvents>>(
    event: Ev,
    ...args: AllButLast<EventParams<EmitEvents, Ev>>
  ): Promise<FirstNonErrorArg<Last<EventParams<EmitEvents, Ev>>>> {
    return new Promise((resolve, reject) => {
      const ack: AckFn = (err: unknown, value: FirstNonErrorArg<Last<EventParams<EmitEvents, Ev>>>) =>
        err ? reject(err) : resolve(value);
      ack.withError = true;
      (this.emit as (event: string, ...args: unknown[]) => this)(event, ...args, ack);
    });
  }

  /**
   * Makes the next emit's ack fail after `ms` milliseconds: its callback gets an error (or
   * `null`) first, and `emitWithAck` rejects.
   */
  timeout(ms: number): Socket<ListenEvents, DecorateAcknowledgements<EmitEvents>> {
    this.#flags.timeout = ms;
    return this as Socket<ListenEvents, DecorateAcknowledgements<EmitEvents>>;
  }

  /** Makes the next emit dropped, rather than buffered, when it cannot be sent now. */
  get volatile(): this {
    this.#flags.volatile = true;
    return this;
  }

  /** Kept for socket.io-client's API: compression is the transport's business here. */
  compress(_compress: boolean): this {
    return this;
  }

  /** Calls `listener` with every incoming event, before its own listeners. */
  onAny(listener: AnyListener): this {
    this.#any.push(listener);
    return this;
  }

  /** The same as `onAny`, ahead of the other such listeners. */
  prependAny(listener: AnyListener): this {
    this.#any.unshift(listener);
    return this;
  }

  /** Removes `listener` (every one without it) from the listeners of every incoming event. */
  offAny(listener?: AnyListener): this {
    this.#any = listener ? this.#any.filter((l) => l !== listener) : [];
    return this;
  }

  /** The listeners of every incoming event. */
  listenersAny(): AnyListener[] {
    return [...this.#any];
  }

  /** Calls `listener` with every outgoing event, when it is sent. */
  onAnyOutgoing(listener: AnyListener): this {
    this.#anyOut.push(listener);
    return this;
  }

  /** The same as `onAnyOutgoing`, ahead of the other such listeners. */
  prependAnyOutgoing(listener: AnyListener): this {
    this.#anyOut.unshift(listener);
    return this;
  }

  /** Removes `listener` (every one without it) from the listeners of every outgoing event. */
  offAnyOutgoing(listener?: AnyListener): this {
    this.#anyOut = listener ? this.#anyOut.filter((l) => l !== listener) : [];
    return this;
  }

  /** The listeners of every outgoing event. */
  listenersAnyOutgoing(): AnyListener[] {
    return [...this.#anyOut];
  }

  /** @internal The connection opened: sends CONNECT, with the auth and the recovery state. */
  _onopen(): void {
    const auth = this.auth;
    if (typeof auth === "function") auth((data) => this.#connect(data));
    else this.#connect(auth);
  }

  /** @internal The connection could not open. */
  _onerror(err: Error): void {
    if (!this.connected) this.#fire("connect_error", err);
  }

  /** @internal The connection closed, or the namespace was left. */
  _onclose(reason: string, description?: unknown): void {
    const connected = this.connected;
    this.connected = false;
    this.id = undefined;
    if (connected) this.#fire("disconnect", reason, description);
    // Acks that wait for an answer over the lost connection will not get one.
    for (const id in this.#acks) {
      const [ack, withError, timer] = this.#acks[id]!;
      if (withError && !this.sendBuffer.some((packet) => packet.id === +id)) {
        delete this.#acks[id];
        clearTimeout(timer);
        ack(new Error("socket has been disconnected"));
      }
    }
  }

  /** @internal A packet of this namespace. */
  _onpacket(packet: Packet): void {
    const data = packet.data;
    switch (packet.type) {
      case PacketType.CONNECT:
        if (data?.sid) this.#onconnect(data.sid, data.pid);
        else this.#fire("connect_error", new Error("invalid CONNECT reply"));
        break;
      case PacketType.EVENT:
      case PacketType.BINARY_EVENT:
        if (packet.id !== undefined) data.push(this.#answer(packet.id));
        if (this.connected) this.#event(data);
        else this.receiveBuffer.push(data);
        break;
      case PacketType.ACK:
      case PacketType.BINARY_ACK: {
        const entry = this.#acks[packet.id!];
        if (entry) {
          delete this.#acks[packet.id!];
          clearTimeout(entry[2]);
          entry[0](...(entry[1] ? [null, ...data] : data));
        }
        break;
      }
      case PacketType.DISCONNECT:
        this.#destroy();
        this._onclose("io server disconnect");
        break;
      case PacketType.CONNECT_ERROR: {
        this.#destroy();
        const err: Error & { data?: unknown } = new Error(data?.message ?? data);
        err.data = data?.data;
        this.#fire("connect_error", err);
      }
    }
  }

  #fire(event: string, ...args: unknown[]): void {
    (this.fire as (event: string, ...args: unknown[]) => void)(event, ...args);
  }

  #packet(packet: Packet): void {
    this.io._packet(packet);
  }

  #connect(data: Record<string, unknown> | undefined): void {
    const pid = this.#pid;
    this.#packet({
      type: PacketType.CONNECT,
      nsp: this.nsp,
      data: pid ? { ...data, pid, offset: this.#offset } : data,
    });
  }

  #onconnect(id: string, pid: string | undefined): void {
    this.id = id;
    this.recovered = !!pid && pid === this.#pid;
    this.#pid = pid;
    this.connected = true;
    for (const args of this.receiveBuffer.splice(0)) this.#event(args);
    for (const packet of this.sendBuffer.splice(0)) this.#send(packet);
    this.#drain(true);
    this.#fire("connect");
  }

  /** Hands an incoming event to the listeners, then notes its offset. */
  #event(args: unknown[]): void {
    for (const listener of [...this.#any]) listener(...(args as [string]));
    this.#fire(...(args as [string]));
    const last = args[args.length - 1];
    if (this.#pid && typeof last === "string") this.#offset = last;
  }

  /** The callback that answers the server's ack `id`, once. */
  #answer(id: number): AckFn {
    let sent = false;
    return (...data: unknown[]) => {
      if (!sent) this.#packet({ type: PacketType.ACK, nsp: this.nsp, id, data });
      sent = true;
    };
  }

  #send(packet: Packet): void {
    for (const listener of [...this.#anyOut]) listener(...(packet.data as [string]));
    this.#packet(packet);
  }

  #emit(args: unknown[]): this {
    const flags = this.#flags;
    this.#flags = {};
    if (this.#opts.retries && !flags.queued && !flags.volatile) {
      const ack = typeof args[args.length - 1] === "function" ? (args.pop() as AckFn) : undefined;
      this.#queue.push({ args, flags, ack, tries: 0, pending: false });
      this.#drain();
      return this;
    }
    const packet: Packet = { type: PacketType.EVENT, nsp: this.nsp, data: args };
    const ack = args[args.length - 1];
    if (typeof ack === "function") {
      args.pop();
      const id = (packet.id = this.#ids++);
      const timeout = flags.timeout ?? this.#opts.ackTimeout;
      const timer =
        timeout === undefined
          ? undefined
          : setTimeout(() => {
              delete this.#acks[id];
              this.sendBuffer = this.sendBuffer.filter((packet) => packet.id !== id);
              ack(new Error("operation has timed out"));
            }, timeout);
      this.#acks[id] = [ack as AckFn, timer !== undefined || !!(ack as AckFn).withError, timer];
    }
    if (this.connected && (!flags.volatile || this.io._writable())) this.#send(packet);
    else if (!flags.volatile) this.sendBuffer.push(packet);
    return this;
  }

  /** Sends the head of the retry queue, unless it waits for its ack (or `force`). */
  #drain(force?: boolean): void {
    const queued = this.#queue[0];
    if (!this.connected || !queued || (queued.pending && !force)) return;
    queued.pending = true;
    const tries = ++queued.tries;
    const ack: AckFn = (err: unknown, ...args: unknown[]) => {
      if (queued !== this.#queue[0] || tries !== queued.tries) return;
      if (!err || tries > this.#opts.retries!) {
        this.#queue.shift();
        queued.ack?.(err, ...args);
      }
      queued.pending = false;
      this.#drain();
    };
    ack.withError = true;
    this.#flags = { ...queued.flags, queued: true };
    this.#emit([...queued.args, ack]);
  }

  #destroy(): void {
    this.#active = false;
    this.io._destroy();
  }
}
