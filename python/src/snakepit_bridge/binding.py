"""Binding a call's by-name arguments to a tool's signature, cheaply in the usual case."""

from __future__ import annotations

import inspect
from typing import Any

from . import errors
from .errors import ToolError
from .tool import ToolSpec

#: Positional and keyword arguments of one call.
Arguments = tuple[tuple[Any, ...], dict[str, Any]]


def bind_arguments(spec: ToolSpec, kwargs: dict[str, Any]) -> inspect.BoundArguments:
    """Bind by-name arguments to the tool's signature before calling it.

    Doing this up front means a TypeError raised *inside* the tool is reported as a
    python_error rather than being mistaken for bad arguments.
    """
    positional: list[Any] = []
    rest = dict(kwargs)
    for param in spec.signature.parameters.values():
        # Positional-only parameters can only be filled positionally; take them by name.
        if param.kind is not inspect.Parameter.POSITIONAL_ONLY or param.name not in rest:
            break
        positional.append(rest.pop(param.name))
    try:
        return spec.signature.bind(*positional, **rest)
    except TypeError as exc:
        raise ToolError(
            errors.INVALID_ARGUMENT,
            f"invalid arguments for tool {spec.name!r}: {exc}; "
            f"signature: {spec.render_signature()}",
        ) from None


class Binding:
    """How one tool's by-name arguments become a call, worked out once per tool.

    Arguments that plainly fit (every required name there, no unknown name, no
    positional-only parameter) pass straight through as ``**kwargs``; anything else
    goes through inspect's binder, which binds it or explains the mismatch.
    """

    __slots__ = ("spec", "names", "required", "usable", "extra_ok", "empty_ok")

    def __init__(self, spec: ToolSpec) -> None:
        names: set[str] = set()
        required: set[str] = set()
        usable = True
        extra_ok = False
        for param in spec.signature.parameters.values():
            if param.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.VAR_POSITIONAL):
                usable = False
            elif param.kind is inspect.Parameter.VAR_KEYWORD:
                extra_ok = True
            else:
                names.add(param.name)
                if param.default is inspect.Parameter.empty:
                    required.add(param.name)
        self.spec = spec
        self.names = frozenset(names)
        self.required = frozenset(required)
        self.usable = usable
        self.extra_ok = extra_ok
        #: No arguments at all bind (nothing is required): such a call is ``tool()``.
        self.empty_ok = _binds_without_arguments(spec.signature)

    def fits(self, kwargs: dict[str, Any]) -> bool:
        if not self.usable:
            return False
        keys = kwargs.keys()
        return self.required <= keys and (self.extra_ok or keys <= self.names)

    def bind(self, kwargs: dict[str, Any]) -> Arguments:
        if self.fits(kwargs):
            return (), kwargs
        bound = bind_arguments(self.spec, kwargs)  # slow path: binds, or explains the mismatch
        return bound.args, bound.kwargs


def _binds_without_arguments(signature: inspect.Signature) -> bool:
    try:
        signature.bind()
    except TypeError:
        return False
    return True
