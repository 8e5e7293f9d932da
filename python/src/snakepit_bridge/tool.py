"""The ``@tool`` decorator and discovery of an adapter class's tools."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from . import codec
from .schema import ToolSchemas, tool_schemas

F = TypeVar("F", bound=Callable[..., Any])

_MARK = "__snakepit_tool__"


@dataclass(frozen=True)
class ToolMark:
    """What ``@tool(...)`` recorded on the function."""

    name: str | None
    description: str | None


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str
    required: bool
    default_json: bytes
    # "positional_or_keyword", "keyword_only", "var_positional", "var_keyword"
    kind: str
    # Text used when rendering the signature in error messages ("= 1" or "").
    default_repr: str


@dataclass(frozen=True)
class ToolSpec:
    """A discovered tool: everything Describe reports plus how to call it."""

    name: str
    attribute: str
    doc: str
    params: tuple[ParamSpec, ...]
    returns: str
    streaming: bool
    is_async: bool
    signature: inspect.Signature
    # The function the spec was built from (schemas resolve its annotations lazily).
    func: Callable[..., Any] | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def schemas(self) -> ToolSchemas:
        """JSON Schemas of the parameters and the result (or chunk), built on first use.

        Never raises: what has no schema is "unknown", with a warning naming the tool and
        the parameter (see :mod:`snakepit_bridge.schema`).
        """
        return tool_schemas(
            self.func if self.func is not None else (lambda: None),
            self.name,
            list(self.signature.parameters.values()),
            self.signature.return_annotation,
            streaming=self.streaming,
            defaults={p.name: p.default_json for p in self.params if p.default_json},
            doc=self.doc,
        )

    def render_signature(self) -> str:
        """``add(a: int, b: int) -> int``, for error messages."""
        parts: list[str] = []
        star_done = False
        for p in self.params:
            if p.kind == "var_positional":
                star_done = True
                text = f"*{p.name}"
            elif p.kind == "var_keyword":
                text = f"**{p.name}"
            else:
                if p.kind == "keyword_only" and not star_done:
                    parts.append("*")
                    star_done = True
                text = p.name
            if p.type:
                text += f": {p.type}"
            if p.default_repr:
                text += f" = {p.default_repr}" if p.type else f"={p.default_repr}"
            parts.append(text)
        rendered = f"{self.name}({', '.join(parts)})"
        return f"{rendered} -> {self.returns}" if self.returns else rendered


@overload
def tool(func: F, /) -> F: ...
@overload
def tool(*, name: str | None = None, description: str | None = None) -> Callable[[F], F]: ...


def tool(
    func: F | None = None, /, *, name: str | None = None, description: str | None = None
) -> F | Callable[[F], F]:
    """Mark an adapter method as a tool.

    Use bare (``@tool``) or with options (``@tool(name="x", description="...")``).
    Plain, generator (streaming), ``async def`` and async-generator methods are supported.
    """

    def mark(f: F) -> F:
        target = f.__func__ if isinstance(f, (staticmethod, classmethod)) else f
        setattr(target, _MARK, ToolMark(name=name, description=description))
        return f

    if func is not None:
        return mark(func)
    return mark


def _marked_function(attr: object) -> tuple[Callable[..., Any], ToolMark] | None:
    func = attr.__func__ if isinstance(attr, (staticmethod, classmethod)) else attr
    mark = getattr(func, _MARK, None)
    if isinstance(mark, ToolMark) and callable(func):
        return func, mark
    return None


def discover_tools(cls: type) -> dict[str, ToolSpec]:
    """All ``@tool`` methods of ``cls`` (inherited ones too), keyed by tool name.

    The most derived definition of an attribute wins, so overriding a tool without
    ``@tool`` removes it.
    """
    tools: dict[str, ToolSpec] = {}
    for attribute in sorted(dir(cls)):
        try:
            attr = inspect.getattr_static(cls, attribute)
        except AttributeError:
            continue
        found = _marked_function(attr)
        if found is None:
            continue
        func, mark = found
        spec = build_spec(func, mark, attribute, bound=not isinstance(attr, staticmethod))
        if spec.name in tools:
            raise TypeError(
                f"{cls.__qualname__} defines tool {spec.name!r} twice "
                f"(attributes {tools[spec.name].attribute!r} and {attribute!r})"
            )
        tools[spec.name] = spec
    return tools


def instrument_tools(
    adapter: object, wrap: Callable[[ToolSpec, Callable[..., Any]], Callable[..., Any]]
) -> list[str]:
    """Replace each tool of this adapter *instance* with ``wrap(spec, bound_method)``.

    The wrapper is stored as an instance attribute, which shadows the class's method for
    calls made through the instance (the engine resolves each tool on the instance once,
    when it is made, so instrument first); the class, and so discovery and Describe, are
    untouched. Returns the attributes wrapped. Used by the thread-safety checker
    (``snakepit_bridge.thread_safety``), which the worker installs before its engine.
    """
    wrapped: list[str] = []
    for spec in discover_tools(type(adapter)).values():
        original = getattr(adapter, spec.attribute)
        replacement = wrap(spec, original)
        if replacement is original:
            continue
        setattr(adapter, spec.attribute, replacement)
        wrapped.append(spec.attribute)
    return wrapped


def call_kinds(func: Callable[..., Any]) -> tuple[bool, bool]:
    """(streaming, is_async), looking through functools.wraps wrappers when needed."""
    for candidate in (func, inspect.unwrap(func)):
        if inspect.isasyncgenfunction(candidate):
            return True, True
        if inspect.isgeneratorfunction(candidate):
            return True, False
        if inspect.iscoroutinefunction(candidate):
            return False, True
    return False, False


def build_spec(
    func: Callable[..., Any], mark: ToolMark, attribute: str, *, bound: bool = True
) -> ToolSpec:
    signature = inspect.signature(func)
    params = list(signature.parameters.values())
    if bound and params:
        params = params[1:]  # self / cls
    signature = signature.replace(parameters=params)
    streaming, is_async = call_kinds(func)
    doc = mark.description if mark.description is not None else (inspect.getdoc(func) or "")
    returns = (
        ""
        if signature.return_annotation is inspect.Signature.empty
        else format_annotation(signature.return_annotation)
    )
    return ToolSpec(
        name=mark.name or func.__name__,
        attribute=attribute,
        doc=doc,
        params=tuple(_param_spec(p) for p in params),
        returns=returns,
        streaming=streaming,
        is_async=is_async,
        signature=signature,
        func=func,
    )


_KINDS = {
    # Arguments arrive by name, so positional-only parameters are filled by name too.
    inspect.Parameter.POSITIONAL_ONLY: "positional_or_keyword",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional_or_keyword",
    inspect.Parameter.KEYWORD_ONLY: "keyword_only",
    inspect.Parameter.VAR_POSITIONAL: "var_positional",
    inspect.Parameter.VAR_KEYWORD: "var_keyword",
}


def _param_spec(p: inspect.Parameter) -> ParamSpec:
    has_default = p.default is not inspect.Parameter.empty
    variadic = p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return ParamSpec(
        name=p.name,
        type="" if p.annotation is inspect.Parameter.empty else format_annotation(p.annotation),
        required=not has_default and not variadic,
        default_json=_default_json(p.default) if has_default else b"",
        kind=_KINDS[p.kind],
        default_repr=repr(p.default) if has_default else "",
    )


def _default_json(value: object) -> bytes:
    try:
        text, attachments = codec.encode(value)
    except (TypeError, ValueError):
        return b""
    # A default that needs attachments (bytes) has no pure-JSON form.
    return b"" if attachments else text


# "collections.abc.Iterator[int]" reads better as it is usually written: "Iterator[int]".
_NOISY_PREFIXES = re.compile(r"\b(?:typing|typing_extensions|collections\.abc)\.")


def format_annotation(annotation: object) -> str:
    """A readable annotation: ``int``, ``list[str]``, ``str | None``, ``Optional[int]``."""
    if isinstance(annotation, str):
        return annotation  # from __future__ import annotations: already as written
    if annotation is None or annotation is type(None):
        return "None"
    return _NOISY_PREFIXES.sub("", inspect.formatannotation(annotation))
