/**
 * The contract between the Engine.IO layer (`src/engine/`) and the Socket.IO layer
 * (`src/socket/`): the options an engine socket takes and the events it emits.
 */

/** The transports, by their Engine.IO names. */
export type TransportName = "websocket" | "polling" | "sse";

/**
 * A WebSocket constructor: the browser's, or one passed in (the `ws` package in Node). Its
 * instances are used as the browser's (`binaryType`, `onopen`, `onmessage`, `onerror`,
 * `onclose`, `send`, `close`); the type asks no more, so that `ws`'s class fits too.
 */
export type WebSocketLike = new (url: string) => object;

/** An EventSource constructor: the browser's, or one passed in (the `eventsource` package in Node). */
export type EventSourceLike = new (url: string, init?: { withCredentials?: boolean }) => EventSource;

/** How an engine socket connects. */
export interface EngineOptions {
  /** The Engine.IO path; `/socket.io/` for a Socket.IO server. */
  path?: string;
  /** Extra query parameters of every request. */
  query?: Record<string, string>;
  /**
   * The transports to use, in the order of preference for the first connection: by default
   * `["websocket", "polling", "sse"]`. When the first cannot connect, the next is tried
   * (fallback); a session opened on polling or SSE upgrades to WebSocket when both sides
   * allow it.
   */
  transports?: TransportName[];
  /** Whether a session opened on polling or SSE tries to upgrade to WebSocket (default true). */
  upgrade?: boolean;
  /** How long to wait for a transport to open before falling back (ms, default 10000). */
  timeout?: number;
  /** Send cookies with cross-origin polling and SSE requests (browsers). */
  withCredentials?: boolean;
  /** The WebSocket implementation, when there is no global one (Node 20). */
  WebSocket?: WebSocketLike;
  /** The EventSource implementation, when there is no global one (Node). */
  EventSource?: EventSourceLike;
  /** The fetch implementation (default: the global one). */
  fetch?: typeof fetch;
}

/** What an engine socket emits. */
export type EngineEvents = {
  /** The session is open: `id` and the transport are known; queued sends go out. */
  open: [];
  /** A message from the server: text, or binary data. */
  message: [data: string | Uint8Array];
  /**
   * The session ended, once, with engine.io-client's reasons: `"transport close"`,
   * `"transport error"`, `"ping timeout"`, `"forced close"` (the client called `close()`),
   * `"parse error"`; `description` carries the underlying error or event when there is one.
   */
  close: [reason: string, description?: unknown];
  /** The session moved to another transport. */
  upgrade: [transport: TransportName];
  /** A transport failed and the next one is tried (fallback). */
  fallback: [from: TransportName, to: TransportName, error: unknown];
};
