"""Progress bars for the studio commands (tqdm on stderr, created on first report)."""

from __future__ import annotations

import sys
from typing import Callable


def tqdm_progress(enabled: bool = True) -> Callable[[str, str], Callable[[int, int], None]]:
    """A factory: `factory(description, unit)` gives a `callback(done, total)`.

    The bar appears on the first report (when the total is known) and closes
    when done reaches total. Disabled, the callbacks do nothing.
    """
    def factory(desc: str, unit: str) -> Callable[[int, int], None]:
        state: dict = {}

        def update(done: int, total: int) -> None:
            if not enabled:
                return
            bar = state.get("bar")
            if bar is None:
                from tqdm import tqdm

                bar = state["bar"] = tqdm(total=total, desc=desc, unit=unit, file=sys.stderr,
                                          leave=True, dynamic_ncols=True)
            bar.update(max(0, done - bar.n))
            if done >= total:
                bar.close()

        return update

    return factory
