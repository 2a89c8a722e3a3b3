// Watches what the client sends, through the implementations it takes as options: a
// WebSocket class, and a fetch for the POSTs of long-polling and SSE.
import WebSocket from "ws";
import { EVENT_TIMEOUT } from "./wait.mjs";

/**
 * Returns `{ WebSocket, fetch, sent, opened, closed, until(predicate) }`: `sent` lists the
 * packets the client sent (WebSocket messages and the packets of each POSTed payload, as
 * strings, binary ones as `Uint8Array`), `opened` the URLs of the WebSockets it opened,
 * `closed` the URLs of those it closed itself; `until(predicate)` resolves once
 * `predicate(spy)` holds (checked whenever something is recorded).
 */
export function spy() {
  const waiters = new Set();
  const notify = () => {
    for (const waiter of waiters) {
      if (waiter.predicate(record)) {
        waiters.delete(waiter);
        clearTimeout(waiter.timer);
        waiter.resolve();
      }
    }
  };
  const record = {
    sent: [],
    opened: [],
    closed: [],
    until(predicate, { timeout = EVENT_TIMEOUT } = {}) {
      return new Promise((resolve, reject) => {
        if (predicate(record)) return resolve();
        const waiter = { predicate, resolve };
        waiter.timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`spy: condition not met within ${timeout} ms: ${predicate}`));
        }, timeout);
        waiters.add(waiter);
      });
    },
    WebSocket: class extends WebSocket {
      constructor(url, protocols) {
        super(url, protocols);
        record.opened.push(url);
        notify();
      }
      send(data, ...rest) {
        record.sent.push(typeof data === "string" ? data : new Uint8Array(data));
        notify();
        return super.send(data, ...rest);
      }
      close(...args) {
        record.closed.push(this.url);
        notify();
        return super.close(...args);
      }
    },
    fetch(url, init) {
      if (init?.method === "POST") {
        record.sent.push(...String(init.body).split("\x1e"));
        notify();
      }
      return fetch(url, init);
    },
  };
  return record;
}
