"""Running one function over many items on a few threads, each closing its database connections."""

import logging
import threading
from collections.abc import Callable

from django.db import connections

logger = logging.getLogger("billing.sync")


def run_in_threads(func: Callable, items: list, threads: int, stop: threading.Event) -> None:
    """Calls `func(item)` for every item on up to `threads` threads; each thread closes its own database
    connections when it ends. With one thread (or one item) everything runs here, on this connection."""
    if threads <= 1 or len(items) <= 1:
        for item in items:
            if stop.is_set():
                break
            func(item)
        return
    pending = iter(items)
    take = threading.Lock()

    def worker() -> None:
        try:
            while not stop.is_set():
                with take:
                    item = next(pending, None)
                if item is None:
                    return
                try:
                    func(item)
                except Exception:
                    logger.exception("sync unit failed unexpectedly")
        finally:
            connections.close_all()

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(min(threads, len(items)))]
    for thread in workers:
        thread.start()
    try:
        for thread in workers:
            thread.join()
    except BaseException:
        # A soft time limit lands here: let the units in flight finish, start no more.
        stop.set()
        for thread in workers:
            thread.join()
        raise
