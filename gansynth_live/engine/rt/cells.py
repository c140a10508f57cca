"""Audio thread only (it writes the arrays): attributes stored in one cell of a numpy array.

The callback's state that compiled code updates in place (counters, the output stage's
gains) lives in preallocated numpy arrays: a Python int or float attribute would be a new
object on every change, an allocation in the callback. Other threads and the tests still
read (and set) each value as a plain attribute through `array_cell`.
"""

from __future__ import annotations

from typing import Any, Callable


def array_cell(array: str, index: int, cast: Callable[[Any], Any]) -> property:
    """A property for `getattr(self, array)[index]`, read as `cast(value)`."""
    def get(self: Any) -> Any:
        return cast(getattr(self, array)[index])

    def set_(self: Any, value: Any) -> None:
        getattr(self, array)[index] = value

    return property(get, set_)
