"""A bounded, ordered pipeline of threads: each stage works on the next item while the stage after it works on
the one before (decoding, the network, flow and encoding overlap; PyAV, ONNX Runtime and OpenCV release the
GIL while they work).

Items keep their order. A stage's exception, KeyboardInterrupt included, reaches whoever consumes its results,
after the results it produced before; :meth:`Stage.stop` ends a stage after its current item.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")
U = TypeVar("U")
DEPTH = 4
"""Items a stage may hold ready for the next one: enough to smooth out uneven frames, little memory."""
POLL_S = 0.1


@dataclass(frozen=True)
class _Failed:
    error: BaseException


_END = object()


class Stage(Generic[U]):
    """``work`` applied to each item of ``items`` on its own (daemon) thread; iterate it for the results."""

    def __init__(self, name: str, items: Iterable[T], work: Callable[[T], U], depth: int = DEPTH) -> None:
        self._items = items
        self._work = work
        self._queue: queue.Queue[object] = queue.Queue(depth)
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"stylevideo-{name}", daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stopping.is_set():
            try:
                self._queue.put(item, timeout=POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self._items:
                if self._stopping.is_set() or not self._put(self._work(item)):
                    return
            self._put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which re-raises it
            self._put(_Failed(exc))

    def __iter__(self) -> Iterator[U]:
        while True:
            try:
                item = self._queue.get(timeout=POLL_S)
            except queue.Empty:
                if not self._thread.is_alive() and self._queue.empty():
                    return  # stopped
                continue
            if item is _END:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item  # type: ignore[misc]

    def stop(self, wait: bool = False) -> None:
        """Ask the thread to end after its current item (and wait for that when ``wait``)."""
        self._stopping.set()
        if wait:
            self._thread.join()


class Sink(Generic[T]):
    """``work`` applied to each item :meth:`put` here, in order, on its own thread (e.g. the encoder)."""

    def __init__(self, name: str, work: Callable[[T], None], depth: int = DEPTH) -> None:
        self._work = work
        self._queue: queue.Queue[object] = queue.Queue(depth)
        self._error: BaseException | None = None
        self._dropping = False
        self._thread = threading.Thread(target=self._run, name=f"stylevideo-{name}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if self._error is None and not self._dropping:
                try:
                    self._work(item)  # type: ignore[arg-type]
                except BaseException as exc:  # noqa: BLE001 - re-raised by put/close on the caller's thread
                    self._error = exc

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def put(self, item: T) -> None:
        """Hand over one item (waits while the sink is full); raises what an earlier item raised."""
        self._check()
        while True:
            try:
                self._queue.put(item, timeout=POLL_S)
                break
            except queue.Full:
                self._check()

    def close(self, drop: bool = False) -> None:
        """Wait until every item handed over is done (``drop``: only the current one, and raise nothing); raises
        what one of them raised."""
        self._dropping = drop
        self._queue.put(_END)
        self._thread.join()
        if not drop:
            self._check()
