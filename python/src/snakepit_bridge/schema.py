"""JSON Schemas of a tool's parameters and result, derived from its type hints.

Describe carries them so the Node side can generate TypeScript types for the tools
(``snakepit types``) and check arguments before a call leaves Node. Each schema
describes the JSON that travels on the wire (draft 2020-12):

* ``int`` -> integer, ``float`` -> number, ``str``, ``bool``, ``None`` -> null;
* ``bytes`` -> the wire's ``{"$snakepit:bytes": N}`` placeholder, marked
  ``"tsType": "Uint8Array"`` (what the Node side hands you);
* ``list``/``Sequence``/``tuple``/``set``/``frozenset`` -> arrays (``prefixItems`` for
  fixed tuples, ``uniqueItems`` for sets); ``dict``/``Mapping`` -> objects;
* ``Optional``/``Union``/``X | Y`` -> ``anyOf``; ``Literal`` -> ``const``/``enum``;
* ``Enum`` classes, ``TypedDict`` classes and dataclasses -> named entries in ``$defs``;
* pydantic models (and any type pydantic knows, such as ``datetime``), only when pydantic
  is already imported by the adapter: pydantic's own ``TypeAdapter(...).json_schema()``.

An annotation with no schema (an arbitrary class, a string that does not resolve) becomes
``{}`` ("unknown") and adds a warning that names the tool and the parameter; nothing here
raises. ``Any``, ``object`` and a missing annotation are ``{}`` without a warning.
"""

from __future__ import annotations

import collections.abc as cabc
import dataclasses
import enum
import inspect
import json
import re
import sys
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .codec import BYTES_KEY

JsonSchema = dict[str, Any]

DIALECT = "https://json-schema.org/draft/2020-12/schema"

BYTES_SCHEMA: JsonSchema = {
    "type": "object",
    "properties": {BYTES_KEY: {"type": "integer", "minimum": 0}},
    "required": [BYTES_KEY],
    "additionalProperties": False,
    "tsType": "Uint8Array",
}

# A numpy array travels as the ndarray placeholder (codec.py); Node sees an NDArray.
NDARRAY_KEY = "$snakepit:ndarray"
NDARRAY_SCHEMA: JsonSchema = {
    "type": "object",
    "properties": {NDARRAY_KEY: {"type": "object"}},
    "required": [NDARRAY_KEY],
    "additionalProperties": False,
    "tsType": "NDArray",
}

_NONE_TYPES = (None, type(None))


def _is_ndarray(tp: object) -> bool:
    """numpy.ndarray, or numpy.typing.NDArray[...] (whose origin it is); numpy is never imported here."""
    numpy = sys.modules.get("numpy")
    if numpy is None:
        return False
    return tp is numpy.ndarray or typing.get_origin(tp) is numpy.ndarray
_UNION_TYPES: tuple[Any, ...] = (typing.Union, types.UnionType)
_ARRAYS = {list, cabc.Sequence, cabc.MutableSequence, cabc.Collection, cabc.Iterable, typing.List}
_SETS = {set, frozenset, cabc.Set, cabc.MutableSet, typing.Set, typing.FrozenSet}
_MAPPINGS = {dict, cabc.Mapping, cabc.MutableMapping, typing.Dict}
_STREAMS = {
    cabc.Iterator,
    cabc.Iterable,
    cabc.Generator,
    cabc.AsyncIterator,
    cabc.AsyncIterable,
    cabc.AsyncGenerator,
}


def _typing_names(name: str) -> tuple[Any, ...]:
    """``typing.X`` and ``typing_extensions.X`` (when that module is loaded), those that exist."""
    found = [getattr(typing, name)] if hasattr(typing, name) else []
    ext = sys.modules.get("typing_extensions")
    if ext is not None and hasattr(ext, name) and getattr(ext, name) not in found:
        found.append(getattr(ext, name))
    return tuple(found)


@dataclass(frozen=True)
class ToolSchemas:
    """What Describe reports of one tool's types."""

    params: JsonSchema
    returns: JsonSchema
    warnings: tuple[str, ...]

    def params_json(self) -> bytes:
        return _dump(self.params)

    def returns_json(self) -> bytes:
        return _dump(self.returns)


def _dump(schema: JsonSchema) -> bytes:
    return json.dumps(schema, sort_keys=False, separators=(",", ":"), default=str).encode("utf-8")


def tool_schemas(
    func: Callable[..., Any],
    tool_name: str,
    params: list[inspect.Parameter],
    return_annotation: object,
    *,
    streaming: bool,
    defaults: dict[str, bytes] | None = None,
    doc: str = "",
) -> ToolSchemas:
    """The parameter and result schemas of one tool; never raises.

    ``params`` are the tool's parameters without ``self``; ``defaults`` maps a parameter
    to the JSON of its default (when it has one JSON can carry); ``doc`` is the docstring
    whose ``Args:`` section (Google, NumPy or Sphinx style) describes the parameters.
    """
    builder = _Builder(tool_name)
    try:
        hints = _resolve_hints(func, builder)
        param_docs, returns_doc = docstring_sections(doc)
        properties: dict[str, JsonSchema] = {}
        required: list[str] = []
        additional: JsonSchema | bool = False
        for p in params:
            annotation = hints.get(p.name, p.annotation)
            where = f"parameter {p.name!r}"
            if p.kind is inspect.Parameter.VAR_KEYWORD:
                additional = builder.schema(annotation, where)
                continue
            if p.kind is inspect.Parameter.VAR_POSITIONAL:
                # Filled by name with a list: {"args": [1, 2]}.
                schema: JsonSchema = {"type": "array", "items": builder.schema(annotation, where)}
            else:
                schema = builder.schema(annotation, where)
            schema = dict(schema)
            if p.name in param_docs and "description" not in schema:
                schema["description"] = param_docs[p.name]
            default_json = (defaults or {}).get(p.name, b"")
            if default_json:
                try:
                    schema["default"] = json.loads(default_json)
                except ValueError:
                    pass
            properties[p.name] = schema
            if p.default is inspect.Parameter.empty and p.kind is not inspect.Parameter.VAR_POSITIONAL:
                required.append(p.name)
        params_schema: JsonSchema = {"type": "object", "properties": properties}
        if required:
            params_schema["required"] = required
        params_schema["additionalProperties"] = additional
        returns = hints.get("return", return_annotation)
        # The result's schema names its own definitions (a model may differ in and out).
        results = _Builder(tool_name, warnings=builder.warnings, unresolved=builder.unresolved)
        if streaming:
            returns_schema = results.chunk_schema(returns)
        else:
            returns_schema = results.schema(returns, "return")
        returns_schema = dict(returns_schema)
        if returns_doc and "description" not in returns_schema and "$ref" not in returns_schema:
            returns_schema["description"] = returns_doc
        return ToolSchemas(
            params=builder.finish(params_schema),
            returns=results.finish(returns_schema),
            warnings=tuple(builder.warnings),
        )
    except Exception as exc:  # a bug here must never stop a worker from starting
        return ToolSchemas(
            params={"$schema": DIALECT, "type": "object"},
            returns={"$schema": DIALECT},
            warnings=(*builder.warnings, f"tool {tool_name!r}: no schema ({type(exc).__name__}: {exc})"),
        )


def _resolve_hints(func: Callable[..., Any], builder: _Builder) -> dict[str, Any]:
    """The function's annotations, evaluated (``from __future__ import annotations``).

    If one does not resolve, the others still do; that one stays a string, which
    :meth:`_Builder.schema` turns into "unknown" with a warning.
    """
    target = inspect.unwrap(func)
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:
        pass
    raw = dict(getattr(target, "__annotations__", {}) or {})
    globalns = getattr(target, "__globals__", {})
    resolved: dict[str, Any] = {}
    for name, annotation in raw.items():
        if isinstance(annotation, str):
            try:
                annotation = eval(annotation, globalns)  # what get_type_hints does, per name
            except Exception as exc:
                builder.unresolved[name] = f"{type(exc).__name__}: {exc}"
        resolved[name] = annotation
    return resolved


class _Builder:
    def __init__(
        self, tool_name: str, *, warnings: list[str] | None = None, unresolved: dict[str, str] | None = None
    ) -> None:
        self.tool = tool_name
        self.warnings: list[str] = warnings if warnings is not None else []
        self.unresolved: dict[str, str] = unresolved if unresolved is not None else {}
        self.defs: dict[str, JsonSchema] = {}
        self._names: dict[object, str] = {}
        self._used: set[str] = set()

    def warn(self, where: str, message: str) -> None:
        text = f"tool {self.tool!r}, {where}: {message}"
        if text not in self.warnings:
            self.warnings.append(text)

    def finish(self, schema: JsonSchema) -> JsonSchema:
        """Root schema: the dialect, the schema, and the ``$defs`` it refers to."""
        out: JsonSchema = {"$schema": DIALECT, **schema}
        used = _refs_in(schema, self.defs)
        if used:
            out["$defs"] = {name: self.defs[name] for name in self.defs if name in used}
        return out

    # ---- one annotation ---------------------------------------------------------

    def chunk_schema(self, annotation: object) -> JsonSchema:
        """A generator tool's return annotation ``Iterator[X]`` (or Generator, AsyncIterator...) -> X."""
        if annotation is inspect.Signature.empty:
            return {}
        annotation = self._strip_annotated(annotation)
        origin = typing.get_origin(annotation)
        if origin in _STREAMS:
            args = typing.get_args(annotation)
            return self.schema(args[0], "yield") if args else {}
        if annotation in _STREAMS or annotation in (typing.Iterator, typing.Generator):
            return {}
        if isinstance(annotation, str) and "return" in self.unresolved:
            return self.schema(annotation, "yield")
        self.warn(
            "return",
            f"a streaming tool is annotated {_name(annotation)}, not Iterator[X] or AsyncIterator[X]; "
            "its chunks are unknown",
        )
        return {}

    @staticmethod
    def _strip_annotated(annotation: object) -> object:
        while typing.get_origin(annotation) in _typing_names("Annotated"):
            annotation = typing.get_args(annotation)[0]
        return annotation

    def schema(self, annotation: object, where: str) -> JsonSchema:
        try:
            return self._schema(annotation, where)
        except RecursionError:
            self.warn(where, f"{_name(annotation)} nests too deeply; unknown")
            return {}
        except Exception as exc:
            self.warn(where, f"{_name(annotation)} has no schema ({type(exc).__name__}: {exc}); unknown")
            return {}

    def _schema(self, tp: object, where: str) -> JsonSchema:
        if tp is inspect.Parameter.empty or tp is inspect.Signature.empty:
            return {}
        if isinstance(tp, str):
            key = "return" if where in ("return", "yield") else _param_of(where)
            reason = self.unresolved.get(key or "", "it did not resolve")
            self.warn(where, f"the annotation {tp!r} could not be resolved ({reason}); unknown")
            return {}
        if isinstance(tp, typing.ForwardRef):
            self.warn(where, f"the forward reference {tp.__forward_arg__!r} could not be resolved; unknown")
            return {}
        if tp is typing.Any or tp is object:
            return {}
        if tp in _NONE_TYPES:
            return {"type": "null"}
        if tp is bool:
            return {"type": "boolean"}
        if tp is int:
            return {"type": "integer"}
        if tp is float:
            return {"type": "number"}
        if tp is str:
            return {"type": "string"}
        if tp in (bytes, bytearray, memoryview):
            return dict(BYTES_SCHEMA)
        if tp in _ARRAYS or tp is tuple or tp is typing.Tuple:
            return {"type": "array"}
        if tp in _SETS:
            return {"type": "array", "uniqueItems": True}
        if tp in _MAPPINGS:
            return {"type": "object"}
        if _is_ndarray(tp):
            return dict(NDARRAY_SCHEMA)

        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin in _typing_names("Annotated"):
            return self._schema(args[0], where)
        if origin in _typing_names("Required") + _typing_names("NotRequired") + _typing_names("ReadOnly"):
            return self._schema(args[0], where)
        if origin in _UNION_TYPES:
            return self._union(args, where)
        if origin in _typing_names("Literal"):
            return _literal(args, self, where)
        if origin in _ARRAYS:
            return {"type": "array", "items": self._schema(args[0], where)} if args else {"type": "array"}
        if origin in _SETS:
            out: JsonSchema = {"type": "array", "uniqueItems": True}
            if args:
                out["items"] = self._schema(args[0], where)
            return out
        if origin is tuple:
            return self._tuple(args, where)
        if origin in _MAPPINGS:
            return self._mapping(args, where)
        if origin is type or origin in _STREAMS or origin is cabc.Callable:
            return self._unknown(tp, where)
        if origin is not None and _is_pydantic(origin):
            return self._pydantic(tp, where)

        supertype = getattr(tp, "__supertype__", None)  # typing.NewType
        if supertype is not None:
            return self._schema(supertype, where)
        if isinstance(tp, typing.TypeVar):
            if tp.__bound__ is not None:
                return self._schema(tp.__bound__, where)
            if tp.__constraints__:
                return self._union(tp.__constraints__, where)
            return {}
        type_alias = _typing_names("TypeAliasType")
        if type_alias and isinstance(tp, type_alias):
            return self._schema(tp.__value__, where)  # type: ignore[attr-defined]

        if isinstance(tp, type):
            if issubclass(tp, enum.Enum):
                return self._named(tp, where, self._enum)
            if _is_typeddict(tp):
                return self._named(tp, where, self._typeddict)
            if dataclasses.is_dataclass(tp):
                return self._named(tp, where, self._dataclass)
            if _is_pydantic(tp):
                return self._pydantic(tp, where)
            # bool is an int, but a subclass of int/str/float is still that JSON type.
            for base, schema in ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string")):
                if issubclass(tp, base):
                    return {"type": schema}
            if issubclass(tp, (bytes, bytearray)):
                return dict(BYTES_SCHEMA)
            if issubclass(tp, tuple) and hasattr(tp, "_fields"):  # NamedTuple: an array on the wire
                return self._namedtuple(tp, where)
            if issubclass(tp, (list, tuple)):
                return {"type": "array"}
            if issubclass(tp, dict):
                return {"type": "object"}
        if "pydantic" in sys.modules:
            # pydantic knows many more (datetime, UUID, Decimal, ...); ask it before giving up.
            adapted = self._pydantic(tp, where, quiet=True)
            if adapted is not None:
                return adapted
        return self._unknown(tp, where)

    def _unknown(self, tp: object, where: str) -> JsonSchema:
        self.warn(where, f"{_name(tp)} has no JSON Schema; typed as unknown")
        return {}

    def _union(self, members: tuple[Any, ...], where: str) -> JsonSchema:
        options: list[JsonSchema] = []
        for member in members:
            schema = self._schema(member, where)
            if schema == {}:
                return {}  # X | Any is Any
            if schema not in options:
                options.append(schema)
        if len(options) == 1:
            return options[0]
        return {"anyOf": options}

    def _tuple(self, args: tuple[Any, ...], where: str) -> JsonSchema:
        if not args:
            return {"type": "array"}
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": self._schema(args[0], where)}
        if args == ((),):  # tuple[()]
            return {"type": "array", "maxItems": 0}
        items = [self._schema(a, where) for a in args]
        return {"type": "array", "prefixItems": items, "items": False, "minItems": len(items), "maxItems": len(items)}

    def _mapping(self, args: tuple[Any, ...], where: str) -> JsonSchema:
        if not args:
            return {"type": "object"}
        key, value = args[0], args[1]
        out: JsonSchema = {"type": "object", "additionalProperties": self._schema(value, where)}
        key_schema = self._schema(key, where)
        if key_schema.get("type") not in (None, "string") or "$ref" in key_schema:
            ref = key_schema.get("$ref", "")
            target = self.defs.get(ref.rsplit("/", 1)[-1], {}) if ref else key_schema
            if not all(isinstance(v, str) for v in target.get("enum", [target.get("const", 0)])):
                self.warn(where, f"{_name(key)} keys are not strings; JSON objects have string keys only")
        elif "enum" in key_schema or "const" in key_schema:
            out["propertyNames"] = key_schema
        return out

    def _named(self, tp: type, where: str, build: Callable[[type, str], JsonSchema]) -> JsonSchema:
        name = self._names.get(tp)
        if name is None:
            name = self._def_name(tp)
            self._names[tp] = name
            self.defs[name] = {}  # reserve: recursive types refer to it while it is built
            self.defs[name] = build(tp, where)
        return {"$ref": f"#/$defs/{name}"}

    def _def_name(self, tp: type) -> str:
        return self._fresh(getattr(tp, "__name__", "Type"))

    def _fresh(self, wanted: str) -> str:
        base = re.sub(r"[^A-Za-z0-9_]", "_", wanted) or "Type"
        name, n = base, 2
        while name in self._used:
            name, n = f"{base}{n}", n + 1
        self._used.add(name)
        return name

    def _enum(self, tp: type, where: str) -> JsonSchema:
        values = [m.value for m in tp]  # type: ignore[var-annotated]
        bad = [v for v in values if not _is_json_scalar(v)]
        out: JsonSchema = {"title": tp.__name__}
        doc = _own_doc(tp)
        if doc:
            out["description"] = doc
        if bad:
            self.warn(where, f"enum {tp.__name__} has values JSON cannot carry ({bad[0]!r}); unknown")
            return out
        out["enum"] = values
        return out

    def _typeddict(self, tp: type, where: str) -> JsonSchema:
        try:
            hints = typing.get_type_hints(tp, include_extras=True)
        except Exception as exc:
            self.warn(where, f"the fields of {tp.__name__} could not be resolved ({exc}); unknown")
            return {"title": tp.__name__, "type": "object"}
        required_keys = set(getattr(tp, "__required_keys__", hints))
        props = {k: self._schema(v, f"{where} ({tp.__name__}.{k})") for k, v in hints.items()}
        out: JsonSchema = {"title": tp.__name__, "type": "object", "properties": props}
        doc = _own_doc(tp)
        if doc:
            out["description"] = doc
        req = [k for k in hints if k in required_keys]
        if req:
            out["required"] = req
        out["additionalProperties"] = False
        return out

    def _dataclass(self, tp: type, where: str) -> JsonSchema:
        try:
            hints = typing.get_type_hints(tp, include_extras=True)
        except Exception as exc:
            self.warn(where, f"the fields of {tp.__name__} could not be resolved ({exc}); unknown")
            return {"title": tp.__name__, "type": "object"}
        props: dict[str, JsonSchema] = {}
        required: list[str] = []
        for f in dataclasses.fields(tp):  # type: ignore[arg-type]
            props[f.name] = self._schema(hints.get(f.name, f.type), f"{where} ({tp.__name__}.{f.name})")
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                required.append(f.name)
            elif f.default is not dataclasses.MISSING and _is_json_value(f.default):
                props[f.name] = {**props[f.name], "default": f.default}
        out: JsonSchema = {"title": tp.__name__, "type": "object", "properties": props}
        doc = _own_doc(tp)
        if doc and not doc.startswith(f"{tp.__name__}("):  # not the generated signature
            out["description"] = doc
        if required:
            out["required"] = required
        out["additionalProperties"] = False
        return out

    def _namedtuple(self, tp: type, where: str) -> JsonSchema:
        hints = typing.get_type_hints(tp) if getattr(tp, "__annotations__", None) else {}
        fields = list(getattr(tp, "_fields", ()))
        items = [self._schema(hints.get(f, typing.Any), f"{where} ({tp.__name__}.{f})") for f in fields]
        return {"type": "array", "prefixItems": items, "items": False, "maxItems": len(items)}

    def _pydantic(self, tp: object, where: str, *, quiet: bool = False) -> JsonSchema | None:
        """pydantic's own schema, its ``$defs`` merged into ours (only if pydantic is loaded)."""
        pydantic = sys.modules.get("pydantic")
        if pydantic is None:
            return None if quiet else self._unknown(tp, where)
        try:
            mode = "serialization" if where in ("return", "yield") else "validation"
            schema = pydantic.TypeAdapter(tp).json_schema(mode=mode, ref_template="#/$defs/{model}")
        except Exception as exc:
            if quiet:
                return None
            self.warn(where, f"pydantic gave no schema for {_name(tp)} ({type(exc).__name__}); unknown")
            return {}
        defs = schema.pop("$defs", {})
        renames: dict[str, str] = {}
        for name, body in defs.items():
            if name in self.defs and self.defs[name] == body:
                continue
            renames[name] = self._fresh(name)
        for name, body in defs.items():
            if name in renames:
                self.defs[renames[name]] = _rename_refs(body, renames)
        schema = _rename_refs(schema, renames)
        if "title" in schema and "properties" in schema and isinstance(tp, type):
            # A model at the top: keep it as a named definition, like a dataclass.
            name = self._names.get(tp)
            if name is None:
                title = str(schema["title"])
                # Already merged as another model's definition: the same entry.
                name = title if self.defs.get(title) == schema else self._fresh(title)
                self._names[tp] = name
                self.defs[name] = schema
            return {"$ref": f"#/$defs/{name}"}
        return schema


def _literal(values: tuple[Any, ...], builder: _Builder, where: str) -> JsonSchema:
    flat: list[Any] = []
    for v in values:
        if isinstance(v, enum.Enum):
            v = v.value
        if not _is_json_scalar(v):
            builder.warn(where, f"Literal value {v!r} is not a JSON value; unknown")
            return {}
        if v not in flat or any(type(v) is not type(x) for x in flat if x == v):
            flat.append(v)
    return {"const": flat[0]} if len(flat) == 1 else {"enum": flat}


def _is_json_scalar(v: object) -> bool:
    return v is None or isinstance(v, (bool, int, float, str))


def _is_json_value(v: object) -> bool:
    if _is_json_scalar(v):
        return True
    if isinstance(v, (list, tuple)):
        return all(_is_json_value(x) for x in v)
    if isinstance(v, dict):
        return all(isinstance(k, str) and _is_json_value(x) for k, x in v.items())
    return False


def _is_typeddict(tp: type) -> bool:
    checks = [getattr(typing, "is_typeddict", None)]
    ext = sys.modules.get("typing_extensions")
    if ext is not None:
        checks.append(getattr(ext, "is_typeddict", None))
    return any(check is not None and check(tp) for check in checks)


def _is_pydantic(tp: object) -> bool:
    pydantic = sys.modules.get("pydantic")
    base = getattr(pydantic, "BaseModel", None) if pydantic is not None else None
    return base is not None and isinstance(tp, type) and issubclass(tp, base)


def _own_doc(tp: type) -> str:
    doc = tp.__dict__.get("__doc__")
    return inspect.cleandoc(doc) if isinstance(doc, str) and doc.strip() else ""


def _name(tp: object) -> str:
    if isinstance(tp, str):
        return repr(tp)
    if isinstance(tp, type):
        return tp.__qualname__ if tp.__module__ == "builtins" else f"{tp.__module__}.{tp.__qualname__}"
    return re.sub(r"\b(?:typing|typing_extensions|collections\.abc)\.", "", repr(tp))


def _param_of(where: str) -> str | None:
    m = re.match(r"parameter '([^']+)'", where)
    return m.group(1) if m else None


def _refs_in(schema: object, defs: dict[str, JsonSchema]) -> set[str]:
    """Names in ``defs`` that ``schema`` refers to, directly or through other defs."""
    found: set[str] = set()
    pending = [schema]
    while pending:
        node = pending.pop()
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                name = ref[len("#/$defs/") :]
                if name not in found and name in defs:
                    found.add(name)
                    pending.append(defs[name])
            pending.extend(node.values())
        elif isinstance(node, list):
            pending.extend(node)
    return found


def _rename_refs(node: Any, renames: dict[str, str]) -> Any:
    if not renames:
        return node
    if isinstance(node, dict):
        out = {k: _rename_refs(v, renames) for k, v in node.items()}
        ref = out.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and ref[8:] in renames:
            out["$ref"] = f"#/$defs/{renames[ref[8:]]}"
        return out
    if isinstance(node, list):
        return [_rename_refs(v, renames) for v in node]
    return node


# ---- docstrings -------------------------------------------------------------------

_GOOGLE_ARGS = re.compile(r"^(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments):\s*$")
_GOOGLE_RETURNS = re.compile(r"^(Returns|Return|Yields|Yield):\s*$")
_GOOGLE_ANY = re.compile(r"^[A-Z][A-Za-z ]*:\s*$")
_GOOGLE_ITEM = re.compile(r"^\*{0,2}(\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_NUMPY_HEADER = re.compile(r"^(Parameters|Returns|Yields|Other Parameters)\s*$")
_SPHINX_PARAM = re.compile(r"^:param\s+(?:[^:]*\s)?(\w+):\s*(.*)$")
_SPHINX_RETURNS = re.compile(r"^:(?:returns?|yields?):\s*(.*)$")


def docstring_sections(doc: str) -> tuple[dict[str, str], str]:
    """``({param: description}, returns description)`` from a Google, NumPy or Sphinx docstring."""
    lines = inspect.cleandoc(doc or "").splitlines()
    params: dict[str, str] = {}
    returns: list[str] = []
    section: str | None = None
    current: str | None = None
    style: str | None = None
    item_indent: int | None = None
    i = 0
    while i < len(lines):
        raw = lines[i]
        line = raw.strip()
        indent = len(raw) - len(raw.lstrip())
        nxt = lines[i + 1].strip() if i + 1 < len(lines) else ""
        if _NUMPY_HEADER.match(line) and nxt and set(nxt) == {"-"}:
            section, current, style = ("returns" if line in ("Returns", "Yields") else "params"), None, "numpy"
            i += 2
            continue
        m = _SPHINX_PARAM.match(line)
        if m:
            section, current, style = "params", m.group(1), "sphinx"
            params[current] = m.group(2).strip()
            i += 1
            continue
        m = _SPHINX_RETURNS.match(line)
        if m:
            section, current, style = "returns", None, "sphinx"
            returns.append(m.group(1).strip())
            i += 1
            continue
        if _GOOGLE_ARGS.match(line) and indent == 0:
            section, current, style, item_indent = "params", None, "google", None
        elif _GOOGLE_RETURNS.match(line) and indent == 0:
            section, current, style = "returns", None, "google"
        elif _GOOGLE_ANY.match(line) and indent == 0 and style == "google":
            section, current = None, None
        elif not line:
            if style == "numpy" and section == "params":
                current = None
            elif style in ("google", "sphinx"):
                current = None if section == "params" else current
        elif section == "params" and style == "google" and indent > 0:
            m = _GOOGLE_ITEM.match(line)
            if m and (item_indent is None or indent <= item_indent):
                current = m.group(1)
                item_indent = indent
                params[current] = m.group(2).strip()
            elif current is not None:
                params[current] = f"{params[current]} {line}".strip()
        elif section == "params" and style == "numpy":
            if indent == 0:
                name = line.split(":", 1)[0].strip().lstrip("*")
                current = name if re.fullmatch(r"\w+", name) else None
                if current:
                    params[current] = ""
            elif current is not None:
                params[current] = f"{params[current]} {line}".strip()
        elif section == "params" and style == "sphinx" and current is not None and indent > 0:
            params[current] = f"{params[current]} {line}".strip()
        elif section == "returns" and (indent > 0 or style == "numpy"):
            if style == "numpy" and indent == 0 and returns == [] and ":" not in line and nxt:
                pass  # "int" / "name : type" line of a NumPy Returns section
            elif not (style == "numpy" and indent == 0 and ":" in line):
                returns.append(line)
        elif section is not None and indent == 0 and style in ("google", "sphinx"):
            section, current = None, None
        i += 1
    return {k: v for k, v in params.items() if v}, " ".join(r for r in returns if r)

