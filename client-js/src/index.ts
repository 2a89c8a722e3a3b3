/**
 * tidings-client: a Socket.IO v5 client over WebSocket, long-polling or server-sent events,
 * with the API of socket.io-client 4.x.
 *
 * ```ts
 * import { io } from "tidings-client";
 * const socket = io("https://example.com/chat", { auth: { token } });
 * socket.on("message", (text) => console.log(text));
 * socket.emit("message", "hello", (reply) => console.log(reply));
 * ```
 */
import { io } from "./socket/io";

export { io, io as connect, io as default };
export { Manager } from "./socket/manager";
export { Socket, type AnyListener } from "./socket/socket";
export { parser } from "./socket/parser";
export type {
  Auth,
  DecorateAcknowledgements,
  DefaultEventsMap,
  EventNames,
  EventParams,
  EventsMap,
  IoOptions,
  ManagerEvents,
  ManagerOptions,
  Packet,
  Parser,
  SocketOptions,
  SocketReservedEvents,
} from "./socket/types";
export type { EngineOptions, TransportName } from "./engine/types";
