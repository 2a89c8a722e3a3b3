/**
 * The types of the Socket.IO layer: packets, the parser contract, the options, and the event
 * maps that type `on` and `emit` (as socket.io-client's `Socket<ListenEvents, EmitEvents>`).
 */
import type { EngineOptions } from "../engine/types";

/** Socket.IO v5 packet types. `5` and `6` are the JSON parser's binary event and ack. */
export const enum PacketType {
  CONNECT,
  DISCONNECT,
  EVENT,
  ACK,
  CONNECT_ERROR,
  BINARY_EVENT,
  BINARY_ACK,
}

/** One Socket.IO packet, as a parser encodes and decodes it. */
export interface Packet {
  type: PacketType;
  nsp: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  data?: any;
  id?: number;
}

/**
 * A parser, in socket.io-client's shape: `new Encoder().encode(packet)` gives the Engine.IO
 * messages of one packet; a `Decoder` takes messages with `add` (throwing on malformed
 * input) and emits `"decoded"` with each complete packet.
 */
export interface Parser {
  Encoder: new () => { encode(packet: Packet): (string | Uint8Array)[] };
  Decoder: new () => {
    add(data: string | Uint8Array): void;
    on(event: "decoded", listener: (packet: Packet) => void): unknown;
  };
}

/** Options of a Manager: the connection, shared by the sockets of its namespaces. */
export interface ManagerOptions extends EngineOptions {
  /** Reconnect after the connection is lost (default true). */
  reconnection?: boolean;
  /** How many reconnection attempts before giving up (default Infinity). */
  reconnectionAttempts?: number;
  /** The first delay between attempts, doubled at each attempt (ms, default 1000). */
  reconnectionDelay?: number;
  /** The longest delay between attempts (ms, default 5000). */
  reconnectionDelayMax?: number;
  /** How much a delay varies at random, up and down (0 to 1, default 0.5). */
  randomizationFactor?: number;
  /** Open the connection and connect the sockets at once (default true). */
  autoConnect?: boolean;
  /** The parser: JSON by default; `tidings-client/msgpack` for socket.io-msgpack-parser's. */
  parser?: Parser;
}

/** The auth payload, or a function that hands it over at every connection attempt. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Auth = Record<string, any> | ((cb: (data: Record<string, any>) => void) => void);

/** Options of a Socket: one namespace. */
export interface SocketOptions {
  /** Sent in the CONNECT packet (the server's middleware reads it). */
  auth?: Auth;
  /** The default timeout of acks (ms); acks then get an error first (`(err, ...args)`). */
  ackTimeout?: number;
  /**
   * Send every emit, one at a time, with an ack, and send it again after `ackTimeout` or a
   * reconnection, up to `retries` times (at-least-once delivery).
   */
  retries?: number;
}

/** Options of `io()`. */
export interface IoOptions extends ManagerOptions, SocketOptions {
  /** Always open a new connection instead of sharing the host's. */
  forceNew?: boolean;
  /** Share one connection between the namespaces of a host (default true). */
  multiplex?: boolean;
}

/** An event map: each event's listener signature (`{ chat: (text: string) => void }`). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface EventsMap { [event: string]: any }

/** Any event with any arguments: the map when none is given. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface DefaultEventsMap { [event: string]: (...args: any[]) => void }

/** The names of a map's events. */
export type EventNames<Map extends EventsMap> = keyof Map & string;

/** The arguments of an event of a map. */
export type EventParams<Map extends EventsMap, Ev extends EventNames<Map>> = Parameters<Map[Ev]>;

/** An event map as the tuples of arguments the emitter takes. */
export type Tuples<Map extends EventsMap> = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [K in keyof Map]: Map[K] extends (...args: infer A) => any ? A : never;
};

/** The events a Socket emits itself. */
export type SocketReservedEvents = {
  /** The socket joined its namespace. */
  connect: [];
  /**
   * Joining failed: the server's `CONNECT_ERROR` (`message`, and `data`), or the connection's
   * (with what the transport reported as `description` when that was not an Error, such as a
   * WebSocket's error event).
   */
  connect_error: [err: Error & { data?: unknown; description?: unknown }];
  /** The socket left, with socket.io-client's reasons (`"io server disconnect"`, …). */
  disconnect: [reason: string, description?: unknown];
};

/** The events a Manager emits. */
export type ManagerEvents = {
  open: [];
  close: [reason: string, description?: unknown];
  error: [err: Error & { description?: unknown }];
  reconnect_attempt: [attempt: number];
  reconnect: [attempt: number];
  reconnect_error: [err: Error & { description?: unknown }];
  reconnect_failed: [];
};

/** The event map with an error first in every ack callback, as with `timeout()`. */
export type DecorateAcknowledgements<Map> = {
  [K in keyof Map]: Map[K] extends (...args: infer P) => infer R
    ? (...args: PrependTimeoutError<P>) => R
    : Map[K];
};

/** The arguments with an error first in the callback ones. */
export type PrependTimeoutError<T extends unknown[]> = {
  [K in keyof T]: T[K] extends (...args: infer P) => infer R ? (err: Error, ...args: P) => R : T[K];
};

/** Every element of a tuple but the last. */
export type AllButLast<T extends unknown[]> = T extends [...infer H, unknown] ? H : unknown[];

/** The last element of a tuple. */
export type Last<T extends unknown[]> = T extends [...unknown[], infer L] ? L : unknown;

/** What `emitWithAck` resolves with: the first argument of the ack callback. */
export type FirstNonErrorArg<T> = T extends (...args: infer P) => unknown
  ? P extends [Error, infer F, ...unknown[]]
    ? F
    : P extends [infer F, ...unknown[]]
      ? F
      : unknown
  : unknown;
