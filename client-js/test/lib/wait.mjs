// Waiting on the client's events (emitters with `on`/`off`: EngineSocket, Manager, Socket).

/** How long an awaited event may take before the test fails (ms). */
export const EVENT_TIMEOUT = 5_000;

/**
 * Resolves with the arguments of the next `event` of `emitter`. Rejects after `timeout` ms,
 * and on `close` first (unless `close` is what is awaited), so a test fails with the reason.
 */
export function next(emitter, event, { timeout = EVENT_TIMEOUT } = {}) {
  return new Promise((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      emitter.off(event, onEvent);
      if (event !== "close") emitter.off("close", onClose);
    };
    const onEvent = (...args) => {
      done();
      resolve(args);
    };
    const onClose = (reason, description) => {
      done();
      reject(new Error(`closed ("${reason}": ${description?.message ?? description}) while waiting for "${event}"`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`no "${event}" within ${timeout} ms`));
    }, timeout);
    emitter.on(event, onEvent);
    if (event !== "close") emitter.on("close", onClose);
  });
}

/**
 * Resolves with the next `count` messages of `emitter` (its `message` event, first argument),
 * in order. Rejects on `close` and after `timeout` ms, saying how many arrived.
 */
export function messages(emitter, count, { timeout = EVENT_TIMEOUT, event = "message" } = {}) {
  return new Promise((resolve, reject) => {
    const got = [];
    const done = () => {
      clearTimeout(timer);
      emitter.off(event, onMessage);
      emitter.off("close", onClose);
    };
    const onMessage = (data) => {
      got.push(data);
      if (got.length === count) {
        done();
        resolve(got);
      }
    };
    const onClose = (reason) => {
      done();
      reject(new Error(`closed ("${reason}") after ${got.length} of ${count} messages`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`${got.length} of ${count} messages within ${timeout} ms`));
    }, timeout);
    emitter.on(event, onMessage);
    emitter.on("close", onClose);
  });
}
