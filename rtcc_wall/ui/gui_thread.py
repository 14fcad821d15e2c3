"""Handing work results from worker threads to the GUI thread, safely.

A worker thread must never hold a reference to a Qt object. If it holds the
last one (a dialog closed while its export runs, a relay object of a dialog
that is gone), the object is destroyed *on the worker thread* when the worker
drops it, while the GUI thread may be delivering events to it: a segfault
(seen in CI: a closed export dialog freed by its export thread in the middle
of ``processEvents``).

So workers get a *poster* instead: a plain function, safe to call from any
thread, that queues a call of a GUI-side bound method to the GUI thread (or
makes it at once when called on the GUI thread). The poster names the
method's object only through a weak reference and signals through the
module's one relay object (made on the GUI thread, deleted with the
QApplication), so nothing a worker holds can be the last reference to a Qt
object. A call whose object is gone (collected, or its C++ half deleted) by
the time the GUI thread runs it is dropped, and so is a post after the
QApplication shut down.

Everything else a worker needs is passed as plain values evaluated on the GUI
thread before it starts (never a closure over ``self``).
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QCoreApplication, QObject, Qt, QThread, Signal, Slot

__all__ = ["Poster", "gui_poster"]

#: what a worker calls: queues the method's call with these arguments to the GUI thread
Poster = Callable[..., None]


class _Relay(QObject):
    """The one object posters signal through (a new QApplication gets a new one)."""

    call = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.call.connect(self._run, Qt.ConnectionType.QueuedConnection)

    @Slot(object)
    def _run(self, fn: Callable[[], None]) -> None:
        fn()


_relay: _Relay | None = None
_gui_thread_id = 0  # threading.get_ident() of the thread the relay lives on


def _the_relay() -> _Relay:
    global _relay, _gui_thread_id
    app = QCoreApplication.instance()
    if app is None:
        raise RuntimeError("gui_poster needs a QApplication")
    if QThread.currentThread() is not app.thread():
        raise RuntimeError("gui_poster must be called on the GUI thread")
    if _relay is None or not shiboken6.isValid(_relay):
        _relay = _Relay()  # created here, so it lives on the GUI thread
        _gui_thread_id = threading.get_ident()
    return _relay


def gui_poster(method: Callable[..., Any]) -> Poster:
    """A thread-safe function that runs ``method(*args)`` on the GUI thread.

    From another thread the call is queued; on the GUI thread it is made at
    once (as a direct signal connection would). ``method`` must be a bound
    method; its object is held weakly. Call this on the GUI thread (where the
    relay must live); hand the result to the worker.
    """
    _the_relay()
    ref = weakref.WeakMethod(method)

    def post(*args: object) -> None:
        relay = _relay  # not captured: the worker holds no Qt object at all
        if relay is None or not shiboken6.isValid(relay):
            return  # the QApplication has shut down
        if threading.get_ident() == _gui_thread_id:
            _deliver(ref, args)
            return
        try:
            relay.call.emit(functools.partial(_deliver, ref, args))
        except RuntimeError:
            return  # deleted meanwhile: the QApplication is shutting down

    return post


def _deliver(ref: weakref.WeakMethod[Callable[..., Any]], args: tuple[object, ...]) -> None:
    method = ref()
    if method is None:
        return  # its object was collected
    owner = getattr(method, "__self__", None)
    if isinstance(owner, QObject) and not shiboken6.isValid(owner):
        return  # its C++ half was deleted (closed with WA_DeleteOnClose, deleteLater)
    method(*args)
