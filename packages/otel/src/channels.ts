/** Subscribing to core's event catalog (node:diagnostics_channel), undone by the returned function. */
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { SNAKEPIT_EVENTS } from "@snakepit/core";

type EventKey = keyof typeof SNAKEPIT_EVENTS;

/** Subscribe `handler` to one Snakepit event; returns the unsubscribe function. */
export function onEvent<T>(event: EventKey, handler: (message: T) => void): () => void {
  const name = SNAKEPIT_EVENTS[event];
  const listener = (message: unknown) => handler(message as T);
  subscribe(name, listener);
  return () => {
    unsubscribe(name, listener);
  };
}
