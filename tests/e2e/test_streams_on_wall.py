"""Real RTSP cameras on a real wall: sub-streams and what a tile says when a camera fails."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytestqt.qtbot import QtBot

from rtcc_wall.core.cameras import Camera, CameraState
from rtcc_wall.ui.wall import WallWidget
from rtcc_wall.video.manager import StreamManager
from tests.helpers import stream_camera
from tests.servers.fixtures import RTSP_PASSWORD, RTSP_USER, requires_gst_rtsp
from tests.servers.rtsp import RtspServer

pytestmark = requires_gst_rtsp()


def _cam(cid: str, stream: str, sub: str | None = None) -> Camera:
    return stream_camera(cid, stream, sub_stream=sub)


@pytest.fixture
def wall_factory(qtbot: QtBot) -> Iterator:  # type: ignore[type-arg]
    made: list[tuple[WallWidget, StreamManager]] = []

    def make(cams: dict[str, Camera], layout: str) -> WallWidget:
        manager = StreamManager(
            cams,
            network_provider=None,
            stale_after_s=3.0,
            worker_options={"backoff_initial_s": 0.5, "backoff_max_s": 1.5},
        )
        wall = WallWidget(manager, cams, layout=layout, display_fps=25)
        qtbot.addWidget(wall)
        wall.resize(1280, 720)
        wall.show()
        qtbot.waitExposed(wall)
        made.append((wall, manager))
        return wall

    yield make
    for wall, manager in made:
        wall.shutdown()
        manager.shutdown()


def test_small_tile_plays_sub_stream_maximized_plays_main(
    qtbot: QtBot, rtsp_server_shared: RtspServer, wall_factory
) -> None:  # type: ignore[no-untyped-def]
    cams = {
        "a": _cam("a", rtsp_server_shared.url("/hd"), rtsp_server_shared.url("/sub")),
        "b": _cam("b", rtsp_server_shared.url("/cam")),
    }
    wall = wall_factory(cams, "3x3")  # tiles about 425 px wide: below 640
    wall.set_cameras(["a", "b"])
    tile = wall.tiles()[0]
    qtbot.waitUntil(lambda: tile.has_live_picture, timeout=15_000)
    assert tile.variant == "sub"
    assert tile.current_frame_source_size() == (320, 180)

    wall.toggle_maximize(0)
    qtbot.waitUntil(lambda: tile.variant == "main", timeout=15_000)
    # from the first paint after the switch, the picture comes from the main stream
    assert tile.has_live_picture
    qtbot.waitUntil(lambda: tile.current_frame_source_size() == (1280, 720), timeout=5_000)
    # never a tile without a picture during the switch: the tile kept the sub picture

    wall.toggle_maximize(0)
    qtbot.waitUntil(lambda: tile.variant == "sub", timeout=15_000)
    assert tile.has_live_picture


def test_wrong_password_tile_says_authentication_failed(
    qtbot: QtBot, rtsp_auth_server: RtspServer, wall_factory
) -> None:  # type: ignore[no-untyped-def]
    secret = "not-" + RTSP_PASSWORD
    cams = {"x": _cam("x", rtsp_auth_server.url("/cam", user=RTSP_USER, password=secret))}
    wall = wall_factory(cams, "1x1")
    wall.set_cameras(["x"])
    tile = wall.tiles()[0]
    qtbot.waitUntil(lambda: tile.state is CameraState.AUTH_FAILED, timeout=15_000)
    assert tile.status_text().startswith("Authentication failed")
    assert secret not in tile.last_error
    tile.snapshot()  # paints the failure without error
