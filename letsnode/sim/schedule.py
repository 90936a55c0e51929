"""Running trio deterministically: the same program gives the same interleaving.

trio's scheduler shuffles each batch of runnable tasks with a module-level
``random.Random`` (so that programs do not come to rely on an order) and, under
Hypothesis, first sorts the batch by task creation order. ``deterministic_scheduling``
turns that test mode on and seeds the generator for the length of a run, then puts both
back, so a run depends on its seed and not on memory addresses (which order equal
deadlines and sets of tasks). One run at a time per process: a lock serialises callers,
since the generator is shared. This reaches into trio's private ``_core._run``; trio is
pinned in ``pyproject.toml``, and an upgrade that moves these names fails loudly here.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import trio._core._run as trio_run

from letsnode.core.errors import LocalProtocolError

_ONE_RUN = threading.Lock()


@contextmanager
def deterministic_scheduling(seed: int) -> Iterator[None]:
    if not hasattr(trio_run, "_r") or not hasattr(trio_run, "_ALLOW_DETERMINISTIC_SCHEDULING"):
        raise LocalProtocolError(
            "this trio has no seedable scheduler (trio._core._run._r): the simulator needs "
            "the trio version pinned in pyproject.toml"
        )
    with _ONE_RUN:
        state = trio_run._r.getstate()
        allowed = trio_run._ALLOW_DETERMINISTIC_SCHEDULING
        trio_run._ALLOW_DETERMINISTIC_SCHEDULING = True  # type: ignore[misc]
        trio_run._r.seed(seed)
        try:
            yield
        finally:
            trio_run._ALLOW_DETERMINISTIC_SCHEDULING = allowed  # type: ignore[misc]
            trio_run._r.setstate(state)
