"""JSON Schemas of tools' parameters and results, derived from their type hints."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from typing import Any

import pytest

from snakepit_bridge import Adapter, tool
from snakepit_bridge.engine import Engine
from snakepit_bridge.schema import BYTES_SCHEMA, DIALECT, docstring_sections
from snakepit_bridge.tool import discover_tools
from snakepit_fixtures.typed import TypedAdapter, UntypedAdapter

try:
    import pydantic  # noqa: F401

    HAVE_PYDANTIC = True
except ImportError:  # the bridge must work without it
    HAVE_PYDANTIC = False

INT = {"type": "integer"}
STR = {"type": "string"}
NULL = {"type": "null"}
BYTES = {k: v for k, v in BYTES_SCHEMA.items()}


def schemas(cls: type, name: str) -> tuple[dict[str, Any], dict[str, Any], tuple[str, ...]]:
    spec = discover_tools(cls)[name]
    s = spec.schemas
    # What Describe sends is the JSON of these: it must round-trip.
    assert json.loads(s.params_json()) == s.params and json.loads(s.returns_json()) == s.returns
    return s.params, s.returns, s.warnings


def props(cls: type, name: str) -> dict[str, Any]:
    return schemas(cls, name)[0]["properties"]


def test_every_supported_annotation_has_a_schema_and_no_warning() -> None:
    for name, spec in discover_tools(TypedAdapter).items():
        assert spec.schemas.warnings == (), name
        assert spec.schemas.params["$schema"] == DIALECT
        assert spec.schemas.returns["$schema"] == DIALECT


def test_scalars_and_the_arguments_object() -> None:
    params, returns, _ = schemas(TypedAdapter, "scalars")
    assert params == {
        "$schema": DIALECT,
        "type": "object",
        "properties": {
            "i": INT,
            "f": {"type": "number"},
            "s": STR,
            "b": {"type": "boolean"},
            "n": {"type": "null", "default": None},
        },
        "required": ["i", "f", "s", "b"],
        "additionalProperties": False,
    }
    assert returns == {"$schema": DIALECT, "type": "number"}


def test_docstring_args_become_descriptions() -> None:
    params, returns, _ = schemas(TypedAdapter, "add")
    assert params["properties"] == {
        "a": {"type": "integer", "description": "The first addend."},
        "b": {"type": "integer", "description": "The second addend."},
    }
    assert returns["description"] == "The sum."


def test_bytes_are_the_wire_placeholder_typed_as_uint8array() -> None:
    p = props(TypedAdapter, "blob")
    assert p["data"] == BYTES and p["data"]["tsType"] == "Uint8Array"
    assert p["extra"] == {"anyOf": [BYTES, NULL], "default": None}
    assert schemas(TypedAdapter, "blob")[1] == {"$schema": DIALECT, **BYTES}


def test_containers() -> None:
    p = props(TypedAdapter, "containers")
    assert p["names"] == {"type": "array", "items": STR}
    assert p["pair"] == {"type": "array", "prefixItems": [INT, STR], "items": False, "minItems": 2, "maxItems": 2}
    assert p["rest"] == {"type": "array", "items": {"type": "number"}}
    assert p["tags"] == {"type": "array", "uniqueItems": True, "items": STR}
    assert p["frozen"] == {"type": "array", "uniqueItems": True, "items": INT}
    assert p["scores"] == {"type": "object", "additionalProperties": {"type": "number"}}
    assert p["seq"] == {"type": "array", "items": INT}
    assert p["mapping"] == {"type": "object", "additionalProperties": {"type": "array", "items": INT}}


def test_unions_and_optionals() -> None:
    p = props(TypedAdapter, "unions")
    assert p["maybe"] == {"anyOf": [INT, NULL]}
    assert p["either"] == {"anyOf": [INT, STR]}
    assert p["pipe"] == {"anyOf": [STR, NULL], "default": None}
    assert schemas(TypedAdapter, "unions")[0]["required"] == ["maybe", "either"]


def test_literals() -> None:
    p = props(TypedAdapter, "choose")
    assert p["mode"] == {"enum": ["fast", "slow"]}
    assert p["level"] == {"enum": [1, 2, 3], "default": 1}
    assert schemas(TypedAdapter, "choose")[1] == {"$schema": DIALECT, "const": "ok"}


def test_enums_are_named_definitions() -> None:
    params, returns, _ = schemas(TypedAdapter, "paint")
    assert params["properties"]["color"] == {"$ref": "#/$defs/Color"}
    assert params["$defs"]["Color"] == {"title": "Color", "description": "A primary colour.", "enum": ["red", "green", "blue"]}
    assert params["$defs"]["Level"] == {"title": "Level", "enum": [1, 2]}
    # Each schema carries only the definitions it uses.
    assert returns == {"$schema": DIALECT, "$ref": "#/$defs/Color", "$defs": {"Color": params["$defs"]["Color"]}}


def test_dataclasses_with_defaults_and_recursion() -> None:
    params, returns, _ = schemas(TypedAdapter, "move")
    point = params["$defs"]["Point"]
    assert point == {
        "title": "Point",
        "type": "object",
        "properties": {"x": {"type": "number"}, "y": {"type": "number"}, "label": {"type": "string", "default": ""}},
        "description": "A point in the plane.",
        "required": ["x", "y"],
        "additionalProperties": False,
    }
    assert params["properties"]["by"] == {"anyOf": [{"$ref": "#/$defs/Point"}, NULL], "default": None}
    assert returns["$ref"] == "#/$defs/Point"
    tree = schemas(TypedAdapter, "walk")[0]["$defs"]["Tree"]
    assert tree["properties"]["children"] == {"type": "array", "items": {"$ref": "#/$defs/Tree"}}
    assert tree["required"] == ["name"]


def test_typeddicts_and_newtype() -> None:
    params, returns, _ = schemas(TypedAdapter, "configure")
    assert params["$defs"]["Options"] == {
        "title": "Options",
        "type": "object",
        "properties": {"verbose": {"type": "boolean"}, "depth": INT},
        "additionalProperties": False,
    }
    assert params["properties"]["user"] == INT
    assert returns["$defs"]["Step"]["required"] == ["step", "of"]


def test_any_keyword_only_and_kwargs() -> None:
    params, returns, _ = schemas(TypedAdapter, "anything")
    assert params["properties"] == {"value": {}, "strict": {"type": "boolean", "default": False}}
    assert params["additionalProperties"] == INT
    assert returns == {"$schema": DIALECT}


def test_streaming_tools_describe_their_chunks() -> None:
    _, chunk, _ = schemas(TypedAdapter, "progress")
    assert chunk["$ref"] == "#/$defs/Step"
    assert schemas(TypedAdapter, "ticks")[1] == {"$schema": DIALECT, "type": "integer"}


def test_what_has_no_schema_is_unknown_with_a_warning_naming_tool_and_parameter() -> None:
    params, returns, warnings = schemas(UntypedAdapter, "opaque")
    assert params["properties"] == {"thing": {}, "count": INT}
    assert returns == {"$schema": DIALECT}
    assert warnings == (
        "tool 'opaque', parameter 'thing': snakepit_fixtures.typed.Opaque has no JSON Schema; typed as unknown",
        "tool 'opaque', return: snakepit_fixtures.typed.Opaque has no JSON Schema; typed as unknown",
    )
    params, _, warnings = schemas(UntypedAdapter, "unresolved")
    assert params["properties"] == {"x": {}, "y": INT}
    assert len(warnings) == 1 and warnings[0].startswith("tool 'unresolved', parameter 'x': the annotation 'NoSuchName' could not be resolved (NameError")
    params, returns, warnings = schemas(UntypedAdapter, "plain")
    assert params["properties"] == {"x": {}, "y": {"default": 2}} and returns == {"$schema": DIALECT} and warnings == ()


def test_a_streaming_tool_with_a_non_iterator_annotation_warns() -> None:
    class A(Adapter):
        @tool
        def gen(self) -> int:  # type: ignore[misc]
            yield 1

    _, chunk, warnings = schemas(A, "gen")
    assert chunk == {"$schema": DIALECT}
    assert warnings == ("tool 'gen', return: a streaming tool is annotated int, not Iterator[X] or AsyncIterator[X]; its chunks are unknown",)


def test_a_bug_in_the_schema_builder_never_stops_the_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    from snakepit_bridge import schema

    def broken(self: object, annotation: object, where: str) -> dict[str, Any]:
        raise RuntimeError("bug")

    monkeypatch.setattr(schema._Builder, "_schema", broken)
    params, returns, warnings = schemas(TypedAdapter, "add")
    assert params["properties"]["a"] == {"description": "The first addend."}
    assert all("has no schema (RuntimeError: bug)" in w for w in warnings)


def test_describe_carries_schemas_and_warnings() -> None:
    engine = Engine(UntypedAdapter(), adapter_spec="snakepit_fixtures.typed:UntypedAdapter")
    try:
        tools = {t.name: t for t in engine.describe().tools}
    finally:
        engine.close()
    opaque = tools["opaque"]
    assert json.loads(opaque.params_schema_json)["properties"]["count"] == INT
    assert json.loads(opaque.returns_schema_json) == {"$schema": DIALECT}
    assert list(opaque.schema_warnings) == list(discover_tools(UntypedAdapter)["opaque"].schemas.warnings)
    assert len(opaque.schema_warnings) == 2


def test_annotations_that_are_objects_and_strings_describe_the_same() -> None:
    namespace: dict[str, Any] = {}
    source = textwrap.dedent(
        """
        from typing import Optional
        from snakepit_bridge import Adapter, tool
        class A(Adapter):
            @tool
            def f(self, a: Optional[int], b: list[str], c: "dict[str, float]" = None) -> tuple[int, str]:
                return (1, "")
        """
    )
    exec(compile(source, "<objects>", "exec"), namespace)
    exec(compile("from __future__ import annotations\n" + source, "<strings>", "exec"), (strings := {}))
    a = discover_tools(namespace["A"])["f"].schemas
    b = discover_tools(strings["A"])["f"].schemas
    assert a == b and a.warnings == ()


@pytest.mark.parametrize(
    "doc",
    [
        """Do it.

        Args:
            count (int): How many
                times, at most.
            name: Who.

        Returns:
            What happened.
        """,
        """Do it.

        Parameters
        ----------
        count : int
            How many
            times, at most.
        name : str
            Who.

        Returns
        -------
        str
            What happened.
        """,
        """Do it.

        :param int count: How many
            times, at most.
        :param name: Who.
        :returns: What happened.
        """,
    ],
    ids=["google", "numpy", "sphinx"],
)
def test_docstring_sections(doc: str) -> None:
    assert docstring_sections(doc) == ({"count": "How many times, at most.", "name": "Who."}, "What happened.")


def test_docstring_without_sections() -> None:
    assert docstring_sections("Add two numbers.\n\nThat is all.") == ({}, "")


def test_the_bridge_never_imports_pydantic_itself() -> None:
    code = (
        "import sys\n"
        "from snakepit_bridge.tool import discover_tools\n"
        "from snakepit_fixtures.typed import TypedAdapter\n"
        "[s.schemas for s in discover_tools(TypedAdapter).values()]\n"
        "print('pydantic' in sys.modules)\n"
    )
    from conftest import FIXTURES_DIR

    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONPATH": str(FIXTURES_DIR)}
    )
    assert out.stdout.strip() == "False"


@pytest.mark.skipif(not HAVE_PYDANTIC, reason="pydantic is not installed")
def test_pydantic_models_use_pydantics_own_schema() -> None:
    from snakepit_fixtures.typed_pydantic import Item, Order, PydanticAdapter

    params, returns, warnings = schemas(PydanticAdapter, "total")
    assert warnings == ()
    assert params["properties"]["order"] == {"$ref": "#/$defs/Order"}
    assert params["properties"]["discount"] == {"type": "number", "default": 0.0}
    expected = pydantic.TypeAdapter(Order).json_schema(ref_template="#/$defs/{model}")
    item = expected["$defs"]["Item"]
    assert params["$defs"]["Item"] == item
    assert item["properties"]["price"]["exclusiveMinimum"] == 0
    assert params["$defs"]["Order"] == {k: v for k, v in expected.items() if k != "$defs"}
    assert returns == {"$schema": DIALECT, "type": "number"}
    _, returns, _ = schemas(PydanticAdapter, "first")
    assert returns["$ref"] == "#/$defs/Item"
    assert returns["$defs"]["Item"] == pydantic.TypeAdapter(Item).json_schema(mode="serialization")
    _, stamp, warnings = schemas(PydanticAdapter, "stamp")
    assert stamp == {"$schema": DIALECT, "type": "string", "format": "date-time"} and warnings == ()


@pytest.mark.skipif(not HAVE_PYDANTIC, reason="pydantic is not installed")
def test_without_pydantic_loaded_its_types_are_unknown_with_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    from snakepit_fixtures.typed_pydantic import PydanticAdapter

    # The bridge looks for pydantic in sys.modules only: as if the adapter never imported it.
    monkeypatch.delitem(sys.modules, "pydantic")
    params, _, warnings = schemas(PydanticAdapter, "total")
    assert params["properties"]["order"] == {}
    assert warnings == ("tool 'total', parameter 'order': snakepit_fixtures.typed_pydantic.Order has no JSON Schema; typed as unknown",)
    _, stamp, warnings = schemas(PydanticAdapter, "stamp")
    assert stamp == {"$schema": DIALECT}
    assert warnings == (
        "tool 'stamp', parameter 'when': datetime.datetime has no JSON Schema; typed as unknown",
        "tool 'stamp', return: datetime.datetime has no JSON Schema; typed as unknown",
    )


def test_numpy_arrays_are_the_ndarray_placeholder_typed_as_ndarray() -> None:
    np = pytest.importorskip("numpy")
    import numpy.typing as npt

    from snakepit_bridge import Adapter, tool

    # This module's annotations are strings (from __future__), resolved in its globals.
    globals().update(np=np, npt=npt)
    from snakepit_bridge.schema import NDARRAY_SCHEMA

    class Model(Adapter):
        @tool
        def predict(self, x: np.ndarray, w: npt.NDArray[np.float32], maybe: np.ndarray | None = None) -> dict[str, np.ndarray]:
            return {"y": x}

    params, returns, warnings = schemas(Model, "predict")
    assert warnings == ()
    assert params["properties"]["x"] == NDARRAY_SCHEMA and NDARRAY_SCHEMA["tsType"] == "NDArray"
    assert params["properties"]["w"] == NDARRAY_SCHEMA
    assert params["properties"]["maybe"] == {"anyOf": [NDARRAY_SCHEMA, NULL], "default": None}
    assert returns["additionalProperties"] == NDARRAY_SCHEMA
