"""Running the CPU-heavy half of a bulk load in worker processes, in order.

An import or a harvest is two kinds of work: reading records (decoding, validating,
normalising, serialising, extracting: pure Python, one record at a time) and writing them
(matching, inserting: one database connection, one transaction at a time). Python runs one
thread of Python code at a time, so on a machine with several cores only separate processes
can read while the writer writes.

:func:`ordered_map` is that split: ``fn`` is applied to each item in worker processes, and
the results come back in the items' order, so the writer sees exactly what a plain loop would
give it. Items and results cross between processes pickled: they must be plain data (bytes,
strings, tuples, dataclasses of those), never database objects.

Workers are forked from a fork server (:mod:`multiprocessing`'s ``forkserver`` start method),
not from the caller: the caller may be a web server with threads holding locks, and a plain
``fork`` would copy those locks held. Each worker watches its caller and exits when the caller
is gone, so a ``kill -9`` of an import leaves no worker behind.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")
R = TypeVar("R")

#: Modules the fork server imports once, so that each worker starts without importing them.
PRELOAD = ["libext.importer", "libext.harvesting", "libext.search.indexer", "marc.marcxml"]
#: Seconds between a worker's checks that its caller is still alive.
WATCH_INTERVAL = 1.0


#: Allocations between two collections of the youngest generation during a bulk load
#: (Python's default is 700). Every collection looks through all the young objects, and
#: a load allocates thousands per record that live until their chunk is written: with the
#: default, the writer spent about a fifth of its time collecting (measured with
#: ``gc.callbacks`` on an import of 20,000 records with the search index: 117 µs a record).
BULK_GC_THRESHOLD = 50_000


class WorkerFailed(RuntimeError):
    """A worker process ended without answering (killed, out of memory).

    Everything written before stays written; a rerun of the import or harvest goes on from
    its last committed batch or page.
    """


_context_lock = threading.Lock()
_context: Any = None
_pools_lock = threading.Lock()
#: workers → [the pool, how many jobs use it now]
_pools: dict[int, list[Any]] = {}


def worker_count(setting: object) -> int:
    """The number of worker processes ``LIBEXT_WORKER_PROCESSES`` asks for.

    ``None`` (the default) means one per core, but none on a single core, where a worker only
    adds the cost of passing records between processes; 0 reads in the calling process. Where
    the platform has no fork server (Windows), records are always read in the calling process.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return 0
    if setting is None:
        cores = os.cpu_count() or 1
        return cores if cores > 1 else 0
    return max(0, int(setting))  # type: ignore[call-overload]


def _mp_context() -> Any:
    global _context
    with _context_lock:
        if _context is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(PRELOAD)
            _context = context
        return _context


_gc_lock = threading.Lock()
_gc_users = 0
_gc_saved: tuple[int, int, int] = gc.get_threshold()


@contextlib.contextmanager
def bulk_gc() -> Iterator[None]:
    """Collect cyclic garbage less often while a bulk load runs in this process (see
    :data:`BULK_GC_THRESHOLD`); the usual thresholds come back when the last load ends."""
    global _gc_users, _gc_saved
    with _gc_lock:
        if _gc_users == 0:
            _gc_saved = gc.get_threshold()
            _raise_gc_threshold()
        _gc_users += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_users -= 1
            if _gc_users == 0:
                gc.set_threshold(*_gc_saved)


def _raise_gc_threshold() -> None:
    first, *older = gc.get_threshold()
    gc.set_threshold(max(first, BULK_GC_THRESHOLD), *older)


def _watch(caller: int, niceness: int) -> None:
    """Worker initializer: take the caller's CPU priority and exit when the caller dies.

    A worker does nothing but bulk work: it keeps :func:`bulk_gc`'s thresholds for life.
    """
    _raise_gc_threshold()
    with contextlib.suppress(OSError):  # a worker may only lower its priority: always allowed
        os.setpriority(os.PRIO_PROCESS, 0, niceness)

    def watch() -> None:
        while True:
            time.sleep(WATCH_INTERVAL)
            try:
                os.kill(caller, 0)
            except ProcessLookupError:
                os._exit(0)
            except PermissionError:  # pragma: no cover - the pid was reused by another user
                os._exit(0)

    threading.Thread(target=watch, name="libext-watch-caller", daemon=True).start()


def _acquire(workers: int) -> ProcessPoolExecutor:
    """The pool of ``workers`` reading processes, shared by the jobs running at the same time
    in this process (``harvest --all`` harvests several sources at once: one pool keeps the
    reading processes at one per core, not one per core per source); started if none runs."""
    context = _mp_context()
    with _pools_lock:
        entry = _pools.get(workers)
        if entry is None:
            pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=context,
                initializer=_watch,
                initargs=(os.getpid(), os.getpriority(os.PRIO_PROCESS, 0)),
            )
            entry = _pools[workers] = [pool, 0]
        entry[1] += 1
        return entry[0]


def _release(pool: ProcessPoolExecutor, broken: bool = False) -> None:
    """One job is done with ``pool``: the last one shuts it down (idle workers left behind
    would keep a process from exiting), and a broken pool (a worker died) is dropped at once
    so the next job starts a fresh one."""
    with _pools_lock:
        for key, entry in list(_pools.items()):
            if entry[0] is pool:
                entry[1] -= 1
                if entry[1] > 0 and not broken:
                    return
                del _pools[key]
    pool.shutdown(wait=not broken, cancel_futures=True)


def _ready() -> None:
    """A worker's first task: nothing, so that the pool starts its processes."""


def _start_pool(workers: int) -> Future[ProcessPoolExecutor]:
    """Acquire the pool and have its processes started, in a background thread.

    Starting workers takes a fork server's start (importing :data:`PRELOAD`) and a fork per
    worker, about a second: done meanwhile, it overlaps the items the caller does itself.
    """
    started: Future[ProcessPoolExecutor] = Future()

    def start() -> None:
        try:
            pool = _acquire(workers)
        except BaseException as exc:  # handed to the caller, who raises it
            started.set_exception(exc)
            return
        # Each submit to an idle pool starts one more process (up to ``workers``). A pool
        # that breaks here fails the caller's first real submit, with the usual error.
        with contextlib.suppress(Exception):
            for _ in range(workers):
                pool.submit(_ready)
        started.set_result(pool)

    threading.Thread(target=start, name="libext-start-workers", daemon=True).start()
    return started


def ordered_map(
    fn: Callable[[T], R], items: Iterable[T], workers: int, *, inline_first: int = 1
) -> Iterator[R]:
    """``fn(item)`` for each of ``items``, in order, computed by ``workers`` processes.

    With ``workers`` 0 this is a plain ``map`` in the calling process. Otherwise the first
    ``inline_first`` items are still done here (a small file or a one-page harvest is over
    before a worker would have started); when there are more, the process's pool of
    ``workers`` processes is started meanwhile and takes the rest, keeping up to two items per
    worker in flight. An exception raised by ``fn`` is raised here, for the item it belongs
    to; one raised by ``items`` itself is raised after the items before it, as a plain loop
    would; closing the iterator early cancels what is in flight. ``fn`` must be a module-level
    function (it is pickled by name). While it runs, garbage is collected as :func:`bulk_gc`
    says, here and in the workers: the caller's writes run between the results.
    """
    with bulk_gc():
        yield from _ordered_map(fn, items, workers, inline_first)


def _ordered_map(
    fn: Callable[[T], R], items: Iterable[T], workers: int, inline_first: int
) -> Iterator[R]:
    iterator = iter(items)
    if workers <= 0:
        yield from map(fn, iterator)
        return
    ahead: list[T] = []
    failure: BaseException | None = None  # raised by ``items``, once the work before is out
    exhausted = False
    while len(ahead) <= inline_first:  # one item more than done here: are workers needed?
        try:
            ahead.append(next(iterator))
        except StopIteration:
            exhausted = True
            break
        except Exception as exc:
            failure, exhausted = exc, True
            break
    if len(ahead) <= inline_first:
        yield from map(fn, ahead)
        if failure is not None:
            raise failure
        return
    started = _start_pool(workers)
    pool: ProcessPoolExecutor | None = None
    broken = False
    pending: deque[Future[R]] = deque()
    window = 2 * workers
    try:
        for item in ahead[:inline_first]:
            yield fn(item)
        pool = started.result()
        pending.append(pool.submit(fn, ahead[-1]))
        while True:
            while not exhausted and len(pending) < window:
                try:
                    item = next(iterator)
                except StopIteration:
                    exhausted = True
                except Exception as exc:  # handed on after the results pending before it
                    failure, exhausted = exc, True
                else:
                    pending.append(pool.submit(fn, item))
            if not pending:
                break
            yield pending.popleft().result()
    except BrokenProcessPool as exc:
        broken = True
        raise WorkerFailed(
            "a reading worker process stopped unexpectedly (killed, or out of memory); what was "
            "committed stays, and running the import again, or a plain harvest (not --full), "
            "goes on from there"
        ) from exc
    finally:
        for future in pending:
            future.cancel()
        if pool is None:
            # Stopped before the workers were used (an error, or the caller closed the
            # iterator): the pool still started, and must still be let go of.
            with contextlib.suppress(Exception):  # a Ctrl-C here goes on up
                pool = started.result()
        if pool is not None:
            _release(pool, broken)
    if failure is not None:
        raise failure
