"""Run NumPy-heavy work on both cores: NumPy releases the GIL inside its loops, so threads suffice."""

import os
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor

WORKERS = max(1, min(4, os.cpu_count() or 1))
_pool = None


def _executor() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="xlgpt")
    return _pool


def ordered_map(fn, items, ahead: int = WORKERS + 1):
    """fn over items on the worker threads, results yielded in order, at most `ahead` in flight (memory).

    Called from a worker thread it runs in that thread: a worker waiting on the pool could wait forever.
    """
    if threading.current_thread().name.startswith("xlgpt_"):
        yield from map(fn, items)
        return
    pending = deque()
    for item in items:
        pending.append(_executor().submit(fn, item))
        if len(pending) >= ahead:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()
