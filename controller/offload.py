"""CPU-heavy work (parsing and validating flows) run on worker threads, off the event loop.

Every call and every API request share one gevent loop: validating a 740 KB flow on it held
every call for 3.4 s. Here the work runs on a small thread pool of its own while the greenlet
that asked waits; the loop keeps serving everything else. The work is pure Python and holds
the GIL, but CPython hands the GIL to the loop's thread when it asks, every switch interval
(the server sets it to 0.5 ms), so the loop runs between slices of the work: the longest
stall measured is in docs/benchmarks.md ("Event-loop stalls", `python -m bench.loop_stall`).

A separate pool from the hub's own (which the PostgreSQL store uses), so slow validations
never queue database calls; two threads, so a burst of validations cannot take more of the
process's CPU than that — the rest wait their turn.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

import gevent
from gevent.threadpool import ThreadPool

WORKERS = 2

_P = ParamSpec("_P")
_T = TypeVar("_T")

_pools: dict[object, ThreadPool] = {}  # one per hub: a pool belongs to the hub it reports to
_lock = threading.Lock()


def off_loop(function: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """`function(*args, **kwargs)` on a worker thread; the calling greenlet waits, the loop
    does not. Its exception is raised here. Called from one of these worker threads it runs
    inline."""
    if getattr(_worker, "busy", False):
        return function(*args, **kwargs)
    return _pool().spawn(_on_worker, function, args, kwargs).get()


_worker = threading.local()  # `busy` on a thread running work of this pool


def _on_worker(function: Callable[..., _T], args: tuple, kwargs: dict) -> _T:
    _worker.busy = True
    try:
        with collector_paused():
            return function(*args, **kwargs)
    finally:
        _worker.busy = False


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No automatic cyclic collection while this lasts (see `_CollectorPause`). Around a
    whole API request too: the collection that follows finds its temporaries freed."""
    _collector.hold()
    try:
        yield
    finally:
        _collector.release()


class _CollectorPause:
    """The cyclic garbage collector runs on whichever thread allocates when a threshold is
    reached, and holds the GIL throughout: a big flow's hundreds of thousands of new objects
    made it run on the worker, scanning them, for up to 385 ms at a time while the loop
    waited for the GIL. While work runs here it is paused (refcounting still frees almost
    everything: validating a flow leaves no cycles), at most MAX_PAUSE seconds in a row, so
    back-to-back work cannot hold it off for good."""

    MAX_PAUSE = 60.0

    def __init__(self) -> None:
        self.holders = 0
        self.since: float | None = None  # paused by us since (monotonic); inf: given up

    def hold(self) -> None:
        with _lock:
            self.holders += 1
            now = time.monotonic()
            if self.since is None:
                if gc.isenabled():  # not if someone else turned it off: theirs to turn on
                    gc.disable()
                    self.since = now
            elif now - self.since > self.MAX_PAUSE:
                gc.enable()  # long enough: collections may run (and stall) until work ends
                self.since = float("inf")

    def release(self) -> None:
        with _lock:
            self.holders -= 1
            if self.holders == 0 and self.since is not None:
                gc.enable()
                self.since = None


_collector = _CollectorPause()


def _pool() -> ThreadPool:
    hub = gevent.get_hub()
    with _lock:
        pool = _pools.get(hub)
        if pool is None:
            pool = _pools[hub] = ThreadPool(WORKERS, hub=hub)
        return pool
