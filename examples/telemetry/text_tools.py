"""The example's Python side: an adapter whose tools create spans of their own.

In a real deployment, setup() would configure an OTLP exporter to your collector;
here the worker keeps its finished spans in memory and `collected_spans()` hands
them to the Node side, which prints one tree. Needs opentelemetry-sdk.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from snakepit_bridge import ThreadSafeAdapter, tool

tracer = trace.get_tracer("text_tools")


class TextTools(ThreadSafeAdapter):
    def setup(self) -> None:
        # What a user does once per worker: configure the global tracer provider.
        provider = TracerProvider(resource=Resource.create({"service.name": "text-tools-worker"}))
        self.exporter = InMemorySpanExporter()
        provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        trace.set_tracer_provider(provider)

    @tool
    def word_count(self, text: str) -> int:
        """Count the words of `text`."""
        with tracer.start_as_current_span("tokenize"):
            words = text.split()
        return len(words)

    @tool
    def summarize(self, text: str, max_words: int = 5) -> str:
        """The first `max_words` words, after a (pretend) scoring pass."""
        with tracer.start_as_current_span("tokenize"):
            words = text.split()
        with tracer.start_as_current_span("score") as span:
            span.set_attribute("words", len(words))
            time.sleep(0.01)
        return " ".join(words[:max_words])

    @tool
    def chunks(self, text: str, size: int = 2) -> Iterator[str]:
        """Stream `text` in chunks of `size` words."""
        words = text.split()
        for i in range(0, len(words), size):
            with tracer.start_as_current_span("chunk"):
                yield " ".join(words[i : i + size])

    @tool
    def collected_spans(self) -> list[dict[str, Any]]:
        """The spans this worker finished (then forgets them)."""
        out = []
        for s in self.exporter.get_finished_spans():
            ctx = s.get_span_context()
            out.append(
                {
                    "name": s.name,
                    "kind": s.kind.name.lower(),
                    "traceId": format(ctx.trace_id, "032x"),
                    "spanId": format(ctx.span_id, "016x"),
                    "parentId": format(s.parent.span_id, "016x") if s.parent else None,
                    "startMs": (s.start_time or 0) / 1e6,
                    "durationMs": ((s.end_time or 0) - (s.start_time or 0)) / 1e6,
                    "pid": os.getpid(),
                    "status": s.status.status_code.name,
                }
            )
        self.exporter.clear()
        return out
