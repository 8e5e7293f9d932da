"""Binding a call's by-name arguments to a tool's signature, cheaply in the usual case."""

from __future__ import annotations

import inspect
from typing import Any

from .invoke import bind_arguments
from .tool import ToolSpec


class Bound:
    """What call_tool needs of inspect.BoundArguments, for arguments that plainly fit."""

    __slots__ = ("kwargs",)
    args: tuple[Any, ...] = ()

    def __init__(self, kwargs: dict[str, Any]) -> None:
        self.kwargs = kwargs


class FastBinding:
    """When by-name arguments can be passed straight through as **kwargs."""

    __slots__ = ("names", "required", "usable", "extra_ok")

    def __init__(self, names: frozenset[str], required: frozenset[str], usable: bool, extra_ok: bool) -> None:
        self.names = names
        self.required = required
        self.usable = usable
        self.extra_ok = extra_ok

    @classmethod
    def of(cls, spec: ToolSpec) -> FastBinding:
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
        return cls(frozenset(names), frozenset(required), usable, extra_ok)

    def fits(self, kwargs: dict[str, Any]) -> bool:
        if not self.usable:
            return False
        keys = kwargs.keys()
        return self.required <= keys and (self.extra_ok or keys <= self.names)


class Binder:
    """Binds arguments per tool; skips inspect's binder when they plainly fit."""

    def __init__(self) -> None:
        self._fast: dict[str, FastBinding] = {}

    def bind(self, spec: ToolSpec, kwargs: dict[str, Any]) -> Any:
        fast = self._fast.get(spec.name)
        if fast is None:
            fast = self._fast[spec.name] = FastBinding.of(spec)
        if fast.fits(kwargs):
            return Bound(kwargs)
        return bind_arguments(spec, kwargs)  # slow path: binds, or explains the mismatch
