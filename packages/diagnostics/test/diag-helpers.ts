/** Test helpers: real Python workers (core's test helpers) and event waits. */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { SNAKEPIT_EVENTS } from "@snakepit/core";

export { fixtureOptions, fixturePool, fixturesPath, OWNER, OWNER_VAR, SHOWCASE, venvPython } from "../../core/test/helpers.js";

/** Resolves when `count` matching events were published (subscribe before triggering). */
export function nextEvents<T>(event: keyof typeof SNAKEPIT_EVENTS, count = 1, filter: (m: T) => boolean = () => true): Promise<T[]> {
  const name = SNAKEPIT_EVENTS[event];
  const seen: T[] = [];
  return new Promise((resolve) => {
    const listener = (m: unknown) => {
      if (!filter(m as T)) return;
      seen.push(m as T);
      if (seen.length === count) {
        unsubscribe(name, listener);
        resolve(seen);
      }
    };
    subscribe(name, listener);
  });
}
