/**
 * The parser of the npm package socket.io-msgpack-parser (3.x): each packet is one binary
 * message, a MessagePack map `{type, data, nsp, id?}`, with binary data as native `bin`. The
 * types are 0 to 4 (no binary packet types) and the decoder checks packets as that package
 * does.
 */
import { Emitter } from "../emitter";
import { decode, encode } from "./msgpack";
import { type Packet, PacketType } from "./types";

/** Encodes packets. */
export class Encoder {
  /** The one message of a packet. */
  encode(packet: Packet): Uint8Array[] {
    return [encode(packet)];
  }
}

const isObject = (data: unknown): boolean =>
  Object.prototype.toString.call(data) === "[object Object]";

/** Decodes messages into packets; `add` throws on a malformed message. */
export class Decoder extends Emitter<{ decoded: [Packet] }> {
  /** Takes one binary message: one packet. */
  add(message: string | Uint8Array): void {
    if (typeof message === "string") throw new Error("text message");
    const packet = decode(message) as Packet;
    const { type, data, id } = packet ?? {};
    if (!(Number.isInteger(type) && type >= PacketType.CONNECT && type <= PacketType.CONNECT_ERROR)) {
      throw new Error("invalid packet type");
    }
    if (typeof packet.nsp !== "string") throw new Error("invalid namespace");
    const valid =
      type === PacketType.CONNECT
        ? data === undefined || isObject(data)
        : type === PacketType.DISCONNECT
          ? data === undefined
          : type === PacketType.CONNECT_ERROR
            ? typeof data === "string" || isObject(data)
            : Array.isArray(data);
    if (!valid) throw new Error("invalid payload");
    if (!(id === undefined || Number.isInteger(id))) throw new Error("invalid packet id");
    this.fire("decoded", packet);
  }
}

/** socket.io-msgpack-parser's parser, for the `parser` option. */
export const parser = { Encoder, Decoder };
