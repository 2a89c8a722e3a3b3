/**
 * `tidings-client/msgpack`: the parser of socket.io-msgpack-parser, for servers that use it
 * (a Tidings server built with `Parser::MsgPack`, or Node's with `socket.io-msgpack-parser`).
 *
 * ```ts
 * import { io } from "tidings-client";
 * import { parser } from "tidings-client/msgpack";
 * const socket = io("https://example.com", { parser });
 * ```
 */
export { Decoder, Encoder, parser, parser as default } from "./socket/msgpack-parser";
export { decode, encode } from "./socket/msgpack";
