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
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from rtcc_wall.ui import gui_thread
from rtcc_wall.ui.gui_thread import gui_poster
from rtcc_wall.video.manager import StreamManager
from tests.helpers import qt_objects_reachable, stream_camera


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


def test_camera_and_watchdog_threads_do_not_hold_the_tiles(qtbot: QtBot, demo_loaded) -> None:  # type: ignore[no-untyped-def]
    """The manager holds its consumers (tiles); its threads must not hold the manager."""
    cam = stream_camera("sim-1", "sim://")
    m = StreamManager({cam.id: cam}, network_provider=lambda: demo_loaded.network)
    tile = QWidget()
    try:
        worker = m.acquire(cam.id, tile)
        assert m._watchdog is not None
        assert qt_objects_reachable(worker._thread) == []
        assert qt_objects_reachable(m._watchdog) == []
        assert qt_objects_reachable(m) == [tile]  # (the check does find a held tile)
    finally:
        m.release(cam.id, tile)
        assert m.shutdown()


def test_on_the_gui_thread_the_call_is_made_at_once(qtbot: QtBot) -> None:
    r = Receiver()
    post = gui_poster(r.take)
    post("now")
    assert r.calls == [(("now",), "MainThread")]


def test_posts_after_the_application_shut_down_are_dropped(qtbot: QtBot) -> None:
    """PySide deletes the relay with the QApplication: a late post from a worker
    (a camera thread still ending) must be a no-op, not an error on that thread."""
    r = Receiver()
    post = gui_poster(r.take)
    relay = gui_thread._relay
    assert relay is not None
    shiboken6.delete(relay)  # as QApplication's shutdown does
    errors: list[BaseException] = []

    def late() -> None:
        try:
            post("late")
        except BaseException as e:  # noqa: BLE001 - the test collects any error
            errors.append(e)

    in_thread(late)
    qtbot.wait(50)
    assert errors == []
    assert r.calls == []
    # a new application (here: the next poster) gets a new relay
    post2 = gui_poster(r.take)
    in_thread(post2, "again")
    qtbot.waitUntil(lambda: len(r.calls) == 1, timeout=5_000)
    in_thread(post, "old poster, new relay")
    qtbot.waitUntil(lambda: len(r.calls) == 2, timeout=5_000)
