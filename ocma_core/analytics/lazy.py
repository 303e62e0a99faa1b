"""A per-instance cached attribute that is computed once even when several threads ask at the same time."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

T = TypeVar("T")


class once_property(Generic[T]):
    """Like functools.cached_property, with a lock per instance and attribute (no double loading)."""

    def __init__(self, fn: Callable[[Any], T]) -> None:
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, obj: None, owner: type | None = None) -> once_property[T]: ...

    @overload
    def __get__(self, obj: object, owner: type | None = None) -> T: ...

    def __get__(self, obj: object | None, owner: type | None = None) -> T | once_property[T]:
        if obj is None:
            return self
        state = obj.__dict__
        if self.name in state:
            return state[self.name]  # type: ignore[no-any-return]
        locks: dict[str, threading.Lock] = state.setdefault("_once_locks", {})  # setdefault is atomic
        with locks.setdefault(self.name, threading.Lock()):
            if self.name not in state:
                state[self.name] = self.fn(obj)  # later reads skip __get__: the instance dict wins
        return state[self.name]  # type: ignore[no-any-return]
