/**
 * A small typed event emitter: the base of the engine socket, the manager and the socket.
 * `Events` maps each event name to the tuple of its arguments.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EventMap = Record<string, any[]>;

type Listener<Args extends unknown[]> = (...args: Args) => void;

export class Emitter<Events extends EventMap> {
  #listeners: { [K in keyof Events]?: Listener<Events[K]>[] } = {};

  /** Calls `listener` on every `event`. */
  on<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    (this.#listeners[event] ??= []).push(listener);
    return this;
  }

  /** Calls `listener` on the next `event` only. */
  once<K extends keyof Events>(event: K, listener: Listener<Events[K]>): this {
    const wrapper: Listener<Events[K]> = (...args) => {
      this.off(event, wrapper);
      listener(...args);
    };
    return this.on(event, wrapper);
  }

  /** Removes `listener` from `event`; every listener of `event` without one; every listener without an event. */
  off<K extends keyof Events>(event?: K, listener?: Listener<Events[K]>): this {
    if (event === undefined) {
      this.#listeners = {};
    } else if (listener === undefined) {
      delete this.#listeners[event];
    } else {
      const list = this.#listeners[event];
      const at = list?.indexOf(listener) ?? -1;
      if (list && at >= 0) list.splice(at, 1);
    }
    return this;
  }

  /** The listeners of `event`. */
  listeners<K extends keyof Events>(event: K): Listener<Events[K]>[] {
    return [...(this.#listeners[event] ?? [])];
  }

  /** Calls the listeners of `event` with `args`, in the order they were added. */
  protected fire<K extends keyof Events>(event: K, ...args: Events[K]): void {
    for (const listener of this.listeners(event)) listener(...args);
  }
}
