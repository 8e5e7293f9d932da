# No `from __future__ import annotations` here on purpose: these annotations are real
# objects, while the showcase adapter's are strings; both must describe the same way.
import json
from collections.abc import AsyncIterator, Iterator
from typing import Optional

import pytest

from snakepit_bridge import Adapter, ThreadSafeAdapter, tool
from snakepit_bridge.adapters.showcase import ShowcaseAdapter
from snakepit_bridge.tool import discover_tools


class Base(Adapter):
    @tool
    def inherited(self) -> None:
        """From the base class."""

    @tool
    def overridden_without_tool(self) -> None:
        pass

    def helper(self) -> None:
        """Not a tool: not decorated."""


class Sample(Base):
    @tool
    def typed(
        self,
        a: int,
        names: list[str],
        blob: bytes,
        maybe: str | None = None,
        opt: Optional[int] = 3,  # noqa: UP045 (the old spelling must describe too)
        *args: int,
        flag: bool = False,
        **extra: float,
    ) -> dict[str, int]:
        """First line.

        More detail."""
        return {}

    @tool(name="renamed", description="Custom description.")
    def original_name(self, x) -> None:  # type: ignore[no-untyped-def]
        """Ignored docstring."""

    @tool
    def gen(self, n: int = 2) -> Iterator[int]:
        yield from range(n)

    @tool
    async def coro(self) -> int:
        return 1

    @tool
    async def agen(self) -> AsyncIterator[int]:
        yield 1

    @tool
    def defaults(self, b: bytes = b"x", big: int = 2**60, obj: object = object()) -> None:
        pass

    def overridden_without_tool(self) -> None:  # no @tool: no longer a tool
        pass


def test_only_marked_methods_are_discovered_including_inherited() -> None:
    assert sorted(discover_tools(Sample)) == [
        "agen",
        "coro",
        "defaults",
        "gen",
        "inherited",
        "renamed",
        "typed",
    ]


def test_param_metadata() -> None:
    spec = discover_tools(Sample)["typed"]
    params = {p.name: p for p in spec.params}
    assert [p.name for p in spec.params] == [
        "a",
        "names",
        "blob",
        "maybe",
        "opt",
        "args",
        "flag",
        "extra",
    ]
    assert params["a"].type == "int" and params["a"].required
    assert params["names"].type == "list[str]"
    assert params["blob"].type == "bytes"
    assert params["maybe"].type == "str | None"
    assert params["maybe"].default_json == b"null" and not params["maybe"].required
    assert params["opt"].type == "Optional[int]" and params["opt"].default_json == b"3"
    assert params["args"].kind == "var_positional" and not params["args"].required
    assert params["flag"].kind == "keyword_only" and params["flag"].default_json == b"false"
    assert params["extra"].kind == "var_keyword" and not params["extra"].required
    assert params["a"].kind == "positional_or_keyword"
    assert spec.returns == "dict[str, int]"
    assert spec.doc == "First line.\n\nMore detail."
    assert not spec.streaming and not spec.is_async


def test_name_and_description_override() -> None:
    spec = discover_tools(Sample)["renamed"]
    assert spec.attribute == "original_name"
    assert spec.doc == "Custom description."
    assert spec.params[0].type == "" and spec.returns == "None"


def test_streaming_and_async_flags() -> None:
    tools = discover_tools(Sample)
    assert (tools["gen"].streaming, tools["gen"].is_async) == (True, False)
    assert (tools["coro"].streaming, tools["coro"].is_async) == (False, True)
    assert (tools["agen"].streaming, tools["agen"].is_async) == (True, True)


def test_defaults_without_a_json_form_are_empty_and_big_ints_use_the_marker() -> None:
    params = {p.name: p for p in discover_tools(Sample)["defaults"].params}
    assert params["b"].default_json == b""
    assert params["obj"].default_json == b""
    assert json.loads(params["big"].default_json) == {"$snakepit:bigint": str(2**60)}


def test_string_annotations_from_future_import_read_as_written() -> None:
    tools = discover_tools(ShowcaseAdapter)
    hash_params = {p.name: p for p in tools["hash_bytes"].params}
    assert hash_params["data"].type == "bytes"
    assert hash_params["rounds"].type == "int" and hash_params["rounds"].default_json == b"1"
    assert tools["add"].returns == "int"
    assert tools["progress"].streaming
    assert tools["async_add"].is_async
    assert tools["add"].doc == "Add two integers and return the sum."


def test_render_signature_for_error_messages() -> None:
    tools = discover_tools(Sample)
    assert tools["gen"].render_signature() == "gen(n: int = 2) -> Iterator[int]"
    typed = tools["typed"].render_signature()
    assert typed.startswith("typed(a: int, names: list[str], blob: bytes, maybe: str | None = None")
    assert "*args: int, flag: bool = False, **extra: float) -> dict[str, int]" in typed


def test_duplicate_tool_names_are_rejected() -> None:
    class Twice(Adapter):
        @tool(name="x")
        def one(self) -> None: ...

        @tool(name="x")
        def two(self) -> None: ...

    with pytest.raises(TypeError, match="twice"):
        discover_tools(Twice)


def test_thread_safe_flag() -> None:
    assert Adapter.thread_safe is False
    assert ThreadSafeAdapter.thread_safe is True
    assert issubclass(ThreadSafeAdapter, Adapter)


def test_tool_methods_stay_plain_methods() -> None:
    assert ShowcaseAdapter().add(2, 3) == 5
    assert list(Sample().gen()) == [0, 1]
