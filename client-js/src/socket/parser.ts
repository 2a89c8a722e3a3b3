/**
 * The default Socket.IO v5 parser (socket.io-parser's wire format): each packet is one text
 * message, `<type>[<attachments>-][<nsp>,][<id>][<JSON data>]`; binary data (a Uint8Array,
 * an ArrayBuffer or another ArrayBuffer view) is replaced by `{"_placeholder":true,"num":n}`
 * and sent as binary messages right after it, in a BINARY_EVENT (`5`) or BINARY_ACK (`6`).
 */
import { Emitter } from "../emitter";
import { type Packet, PacketType } from "./types";

/** Whether `value` is binary data that goes as an attachment. */
const isBinary = (value: unknown): value is ArrayBuffer | ArrayBufferView =>
  value instanceof ArrayBuffer || ArrayBuffer.isView(value);

/** The bytes of binary data, without a copy. */
const bytes = (value: ArrayBuffer | ArrayBufferView): Uint8Array =>
  value instanceof Uint8Array
    ? value
    : ArrayBuffer.isView(value)
      ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
      : new Uint8Array(value);

/** Encodes packets. */
export class Encoder {
  /** The messages of one packet: its text, then its attachments. */
  encode(packet: Packet): (string | Uint8Array)[] {
    const attachments: Uint8Array[] = [];
    let type = packet.type;
    let json = "";
    if (packet.data !== undefined) {
      // `this[key]` is the value before `toJSON` (a Node Buffer has one).
      json = JSON.stringify(packet.data, function (this: Record<string, unknown>, key, value) {
        const raw = this[key];
        return isBinary(raw)
          ? { _placeholder: true, num: attachments.push(bytes(raw)) - 1 }
          : value;
      });
    }
    let head = "";
    if (attachments.length) {
      type += 3; // EVENT to BINARY_EVENT, ACK to BINARY_ACK
      head = attachments.length + "-";
    }
    if (packet.nsp !== "/") head += packet.nsp + ",";
    return [type + head + (packet.id ?? "") + json, ...attachments];
  }
}

/** Whether `data` is a plain object. */
const isObject = (data: unknown): boolean =>
  Object.prototype.toString.call(data) === "[object Object]";

/** Whether `data` fits a packet of type `type`, as socket.io-parser checks it. */
function fits(type: number, data: unknown): boolean {
  switch (type) {
    case PacketType.CONNECT:
      return isObject(data);
    case PacketType.DISCONNECT:
      return data === undefined;
    case PacketType.CONNECT_ERROR:
      return typeof data === "string" || isObject(data);
    case PacketType.EVENT:
    case PacketType.BINARY_EVENT:
      return Array.isArray(data) && typeof data[0] === "string";
    default:
      return Array.isArray(data);
  }
}

/** Puts the attachments back where their placeholders are. */
function reconstruct(data: unknown, attachments: Uint8Array[]): unknown {
  if (data && typeof data === "object") {
    const record = data as Record<string, unknown>;
    if (record["_placeholder"] === true) {
      const num = record["num"];
      if (typeof num !== "number" || !(num in attachments)) throw new Error("illegal attachments");
      return attachments[num];
    }
    for (const key in record) record[key] = reconstruct(record[key], attachments);
  }
  return data;
}

/** Decodes messages into packets; `add` throws on a malformed message. */
export class Decoder extends Emitter<{ decoded: [Packet] }> {
  #pending: Packet | undefined;
  #expected = 0;
  #attachments: Uint8Array[] = [];

  /** Takes one message: a packet's text, or one of its attachments. */
  add(message: string | Uint8Array): void {
    if (typeof message !== "string") {
      const packet = this.#pending;
      if (!packet) throw new Error("unexpected binary data");
      this.#attachments.push(message);
      if (this.#attachments.length === this.#expected) {
        this.#pending = undefined;
        reconstruct(packet.data, this.#attachments.splice(0));
        this.fire("decoded", packet);
      }
      return;
    }
    if (this.#pending) throw new Error("text data while attachments are awaited");
    const packet = parse(message);
    if (packet.attachments) {
      this.#pending = packet;
      this.#expected = packet.attachments;
    } else {
      this.fire("decoded", packet);
    }
  }
}

/** Parses a packet's text. */
function parse(text: string): Packet & { attachments: number } {
  const type = Number(text[0]);
  let at = 1;
  let attachments = 0;
  let nsp = "/";
  let id: number | undefined;
  if (!(type >= 0 && type <= 6)) throw new Error("unknown packet type");
  if (type > 4) {
    const end = text.indexOf("-", at);
    attachments = Number(text.slice(at, end));
    if (end < 0 || !(attachments > 0)) throw new Error("illegal attachments");
    at = end + 1;
  }
  if (text[at] === "/") {
    const end = text.indexOf(",", at);
    nsp = end < 0 ? text.slice(at) : text.slice(at, end);
    at = end < 0 ? text.length : end + 1;
  }
  const digits = /^\d*/.exec(text.slice(at))![0];
  if (digits) {
    id = Number(digits);
    at += digits.length;
  }
  const data: unknown = at < text.length ? JSON.parse(text.slice(at)) : undefined;
  if (!fits(type, data)) throw new Error("invalid payload");
  return id === undefined ? { type, nsp, data, attachments } : { type, nsp, data, id, attachments };
}

/** The JSON parser, the default one. */
export const parser = { Encoder, Decoder };
