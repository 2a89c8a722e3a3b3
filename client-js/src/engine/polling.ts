/**
 * HTTP long-polling over `fetch`: a loop of GETs brings the server's payloads, POSTs carry
 * the client's (see `http` in `transport.ts`).
 *
 * A payload that ends with a noop (`6`) means the server answered an upgrade probe: the loop
 * stops there, until the transport is paused (the upgrade goes on) or resumed (it failed).
 */
import { decodePayload } from "./packet";
import { http, type TransportFactory } from "./transport";

export const polling: TransportFactory = (uri, options, hooks) => {
  let polling = false;
  let failed = false;
  const resume = () => {
    failed = true;
    polling || poll();
  };
  const t = http(uri, options, hooks, () => !polling, resume);
  const poll = () => {
    polling = true;
    t.request().then(
      (payload) => {
        polling = false;
        t.deliver(() => decodePayload(payload));
        if (t.live) t.paused ? t.check() : (failed || !("\x1e" + payload).endsWith("\x1e6")) && poll();
      },
      (error) => t.fail("transport error", error),
    );
  };
  poll();
  return t;
};
