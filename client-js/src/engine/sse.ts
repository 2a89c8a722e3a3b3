/**
 * Server-sent events, a Tidings extension: an `EventSource` brings the server's packets, one
 * per event, POSTs carry the client's as in long-polling (see `http` in `transport.ts`).
 *
 * The stream ends with a noop (`6`) when the session moves to WebSocket: the `EventSource` is
 * closed then, as it would otherwise reconnect by itself and open a new session. Should the
 * upgrade fail (`resume()`), the stream is reopened with the session's id: at once if it had
 * ended, or when its noop comes (it can come after the probe failed, over another connection).
 */
import { decodeEvent } from "./packet";
import { http, type TransportFactory } from "./transport";

export const sse: TransportFactory = (uri, options, hooks) => {
  let source: EventSource | undefined;
  let failed = false;
  const stop = () => {
    source?.close();
    source = undefined;
  };
  const resume = () => {
    failed = true;
    source || open();
  };
  const t = http(uri, options, hooks, () => !source, resume, stop);
  const open = () => {
    const events = (source = new (options.EventSource ?? EventSource)(uri(), {
      withCredentials: !!options.withCredentials,
    }));
    const receive = ({ type, data }: MessageEvent<string>) => {
      if (source != events) return;
      t.deliver(() => [decodeEvent(type, data)]);
      if (data == "6" && t.live) {
        stop();
        t.paused ? t.check() : failed && open();
      }
    };
    events.onmessage = receive;
    events.addEventListener("json", receive);
    events.onerror = (error) => {
      if (source == events) {
        stop();
        t.fail("transport error", error);
      }
    };
  };
  open();
  return t;
};
