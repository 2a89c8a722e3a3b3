/**
 * The Engine.IO v4 codec: pure functions, no IO.
 *
 * A packet is kept in its encoded text form, the type digit followed by its data (`"4hello"`,
 * `"2"`, `"3probe"`), or is a binary message (a `Uint8Array`). That is what a WebSocket frame
 * carries as is; long-polling and SSE carry binary messages as `b` + base64, and long-polling
 * joins the packets of a payload with the record separator `\x1e`.
 */

/** An Engine.IO packet: `"<type><data>"`, or a binary message. */
export type Packet = string | Uint8Array;

/** The separator of the packets in a long-polling payload. */
const SEPARATOR = "\x1e";

/** A packet in its long-polling (and SSE) form. */
export const encodePacket = (packet: Packet): string => {
  if (typeof packet == "string") return packet;
  let binary = "";
  for (const byte of packet) binary += String.fromCharCode(byte);
  return "b" + btoa(binary);
};

/** A packet from its long-polling (and SSE) form; throws on bad base64. */
export const decodePacket = (text: string): Packet =>
  text[0] == "b" ? Uint8Array.from(atob(text.slice(1)), (char) => char.charCodeAt(0)) : text;

/** A long-polling payload of `packets`. */
export const encodePayload = (packets: Packet[]): string => packets.map(encodePacket).join(SEPARATOR);

/** The packets of a long-polling payload; throws on bad base64. */
export const decodePayload = (payload: string): Packet[] => payload.split(SEPARATOR).map(decodePacket);

/**
 * The packet of an SSE event: its data is the packet's polling form, or, for an `event: json`
 * (a packet holding a carriage return, which an event stream cannot carry), that form as a
 * JSON string. Throws on bad JSON or base64.
 */
export const decodeEvent = (type: string, data: string): Packet =>
  decodePacket(type == "json" ? "" + JSON.parse(data) : data);

/** The size in bytes of `packet` in a payload (for `maxPayload`). */
export const byteLength = (packet: Packet): number => new TextEncoder().encode(encodePacket(packet)).length;
