"""Posters: worker threads hand results to the GUI thread without holding a Qt object.

CI crashed (SIGSEGV in ``processEvents``) when an export thread held the last
reference to its closed dialog and so destroyed a QDialog on the worker thread.
"""

from __future__ import annotations

import gc
import threading
import weakref

import pytest
import shiboken6
from PySide6.QtCore import QObject
from pytestqt.qtbot import QtBot

from rtcc_wall.ui.gui_thread import gui_poster


class Receiver(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[tuple[object, ...], str]] = []

    def take(self, *args: object) -> None:
        self.calls.append((args, threading.current_thread().name))


def in_thread(fn: object, *args: object) -> None:
    t = threading.Thread(target=fn, args=args, name="worker")
    t.start()
    t.join(5)
    assert not t.is_alive()


def test_the_call_runs_on_the_gui_thread_with_its_arguments(qtbot: QtBot) -> None:
    r = Receiver()
    post = gui_poster(r.take)
    in_thread(post, 1, "two", None)
    in_thread(post, 3)
    assert r.calls == []  # queued, not run on the worker
    qtbot.waitUntil(lambda: len(r.calls) == 2, timeout=5_000)
    assert r.calls == [((1, "two", None), "MainThread"), ((3,), "MainThread")]


def test_a_poster_does_not_keep_its_object_alive(qtbot: QtBot) -> None:
    r = Receiver()
    gone = weakref.ref(r)
    post = gui_poster(r.take)
    del r
    gc.collect()
    assert gone() is None  # freed here, on the GUI thread, though a worker holds the poster
    in_thread(post, "late")
    qtbot.wait(50)  # the queued call finds nobody and is dropped


def test_a_call_to_a_deleted_qt_object_is_dropped(qtbot: QtBot) -> None:
    r = Receiver()
    post = gui_poster(r.take)
    in_thread(post, "before")
    shiboken6.delete(r)  # the C++ half goes (as with deleteLater); the wrapper stays
    qtbot.wait(50)
    assert not shiboken6.isValid(r)
    assert r.calls == []


def test_a_poster_is_made_on_the_gui_thread_only(qtbot: QtBot) -> None:
    r = Receiver()
    errors: list[BaseException] = []

    def make() -> None:
        try:
            gui_poster(r.take)
        except RuntimeError as e:
            errors.append(e)

    in_thread(make)
    assert len(errors) == 1
    assert "GUI thread" in str(errors[0])


def test_a_plain_function_is_refused(qtbot: QtBot) -> None:
    with pytest.raises(TypeError):
        gui_poster(print)  # no object to hold weakly: could keep a Qt object alive
