from __future__ import annotations

import pytest

from rtcc_wall.core.redact import expand_env, redact


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("rtsp://admin:hunter22@10.0.0.1:554/s", "hunter22"),
        ("failed to open rtsp://admin:p%40ss%3Aw0rd@cam/stream", "p%40ss%3Aw0rd"),
        ("http://u:pw123@host/mjpg and rtsps://x:zz9zz@h/", "pw123"),
        ("http://host/video.cgi?user=a&password=topsecret&x=1", "topsecret"),
    ],
)
def test_redact_hides_secret(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out
    assert "***" in out


def test_redact_keeps_user_and_host() -> None:
    assert redact("rtsp://admin:pw@10.0.0.1/s") == "rtsp://admin:***@10.0.0.1/s"
    assert redact("rtsp://10.0.0.1/s") == "rtsp://10.0.0.1/s"


def test_expanded_env_secret_is_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CAM_PW_TEST", "Zq8-unique-pw")
    url = expand_env("rtsp://v:${CAM_PW_TEST}@h/s")
    assert url == "rtsp://v:Zq8-unique-pw@h/s"
    assert "Zq8-unique-pw" not in redact("error: Zq8-unique-pw rejected")


def test_missing_env_var_names_variable() -> None:
    with pytest.raises(KeyError, match="NOT_SET_ANYWHERE_123"):
        expand_env("rtsp://v:${NOT_SET_ANYWHERE_123}@h/s")
