/**
 * WebSocket: a text frame per text packet, a binary frame per binary message.
 */
import type { Packet } from "./packet";
import type { TransportFactory } from "./transport";

export const websocket: TransportFactory = (uri, options, hooks) => {
  const ws = new (options.WebSocket ?? WebSocket)(uri()) as WebSocket;
  let live = true;
  const end = (reason: string) => (event: Event) => {
    if (live) {
      live = false;
      hooks.close(reason, event);
    }
  };
  ws.binaryType = "arraybuffer";
  ws.onopen = () => {
    t.writable = true;
    if (live) hooks.drain();
  };
  ws.onmessage = ({ data }: MessageEvent<string | ArrayBuffer>) => {
    if (live) hooks.packet(typeof data == "string" ? data : new Uint8Array(data));
  };
  ws.onerror = end("transport error");
  ws.onclose = end("transport close");
  const t = {
    writable: false,
    send: (queue: Packet[]) => queue.splice(0).forEach((packet) => ws.send(packet as string | Uint8Array<ArrayBuffer>)),
    close(last?: Packet[]) {
      live = false;
      if (last && t.writable) t.send(last);
      ws.close();
    },
  };
  return t;
};
