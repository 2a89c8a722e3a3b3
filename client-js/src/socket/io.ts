/**
 * `io(url, opts)`: the socket of the namespace in `url` (`http://host:3000/admin`), over the
 * connection already open to that server when there is one (multiplexing).
 */
import { Manager } from "./manager";
import type { Socket } from "./socket";
import type { DefaultEventsMap, EventsMap, IoOptions } from "./types";

const managers: Record<string, Manager> = {};

/**
 * The socket of the namespace in `url` (`/` without one). Sockets to the same server share
 * one Manager, unless `forceNew` or `multiplex: false`, or the namespace already has a socket
 * there. Without `url` (browsers), the page's server.
 */
export function io<ListenEvents extends EventsMap = DefaultEventsMap, EmitEvents extends EventsMap = ListenEvents>(
  url?: string | IoOptions,
  opts: IoOptions = {},
): Socket<ListenEvents, EmitEvents> {
  if (typeof url === "object") {
    opts = url;
    url = undefined;
  }
  const base = globalThis.location?.href;
  url ??= "/";
  // `host:3000/admin`, without a scheme.
  if (!/^\w+:\/\/|^\//.test(url)) url = (base ? location.protocol : "https:") + "//" + url;
  const parsed = new URL(url, base);
  const nsp = parsed.pathname;
  // `ws://` and `wss://` name the same server as `http://` and `https://`.
  const origin = parsed.origin.replace(/^ws/, "http");
  const id = origin + (opts.path ?? "/socket.io/");
  const query = [...parsed.searchParams];
  if (query.length && !opts.query) opts = { ...opts, query: Object.fromEntries(query) };
  const shared = managers[id];
  let manager: Manager;
  if (opts.forceNew || opts.multiplex === false || (shared && nsp in shared.nsps)) {
    manager = new Manager(origin, opts);
  } else {
    manager = managers[id] ??= new Manager(origin, opts);
  }
  return manager.socket(nsp, opts) as Socket<ListenEvents, EmitEvents>;
}
