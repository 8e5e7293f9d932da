/** Test helpers: real Python workers (core's test helpers) and span lookups. */
import type { ReadableSpan } from "@opentelemetry/sdk-trace-base";
import type { Pool } from "@snakepit/core";

export { fixturePool, nextEvents, SHOWCASE } from "../../core/test/helpers.js";

export const TRACED = "snakepit_fixtures.traced:TracedAdapter";

/** A span the Python worker finished, as the traced fixture reports it. */
export interface PySpan {
  name: string;
  trace_id: string;
  span_id: string;
  parent_id: string | null;
  kind: string;
  status: string;
  attributes: Record<string, unknown>;
  events: string[];
}

export async function pythonSpans(pool: Pool): Promise<PySpan[]> {
  return pool.execute<PySpan[]>("finished_spans");
}

export function byName<T extends { name: string }>(spans: readonly T[], name: string): T {
  const found = spans.filter((s) => s.name === name);
  if (found.length !== 1) throw new Error(`expected one span named ${name}, found ${found.length}: ${spans.map((s) => s.name).join(", ")}`);
  return found[0]!;
}

export function parentId(span: ReadableSpan): string | undefined {
  return span.parentSpanContext?.spanId;
}

