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

import threading
from collections.abc import Callable
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
        return function(*args, **kwargs)
    finally:
        _worker.busy = False


def _pool() -> ThreadPool:
    hub = gevent.get_hub()
    with _lock:
        pool = _pools.get(hub)
        if pool is None:
            pool = _pools[hub] = ThreadPool(WORKERS, hub=hub)
        return pool
