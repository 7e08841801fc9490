"""User folders (platformdirs, FGSM_STUDIO_HOME) and downloads that leave nothing half-written."""

from __future__ import annotations

import hashlib
import io
import urllib.request

import platformdirs
import pytest

from fgsm_studio.core import paths
from fgsm_studio.core.models import imagenet


def test_folders_follow_the_platform_convention(monkeypatch, tmp_path):
    monkeypatch.delenv("FGSM_STUDIO_HOME")
    monkeypatch.setattr(platformdirs, "user_data_dir", lambda *a, **k: str(tmp_path / "d"))
    monkeypatch.setattr(platformdirs, "user_log_dir", lambda *a, **k: str(tmp_path / "l"))
    monkeypatch.setattr(platformdirs, "user_cache_dir", lambda *a, **k: str(tmp_path / "c"))
    assert paths.user_data_dir() == tmp_path / "d"
    assert paths.user_log_dir() == tmp_path / "l"
    assert paths.user_cache_dir() == tmp_path / "c"
    assert all((tmp_path / f).is_dir() for f in "dlc")
    assert paths.unwritable_folders() == []


def test_the_home_override_holds_all_three(monkeypatch, tmp_path):
    monkeypatch.setenv("FGSM_STUDIO_HOME", str(tmp_path))
    assert paths.user_data_dir() == tmp_path
    assert paths.user_log_dir() == tmp_path / "logs"
    assert paths.user_cache_dir() == tmp_path / "cache"


def test_an_unwritable_home_is_reported_not_raised(monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"  # a folder under a file cannot exist, even for root
    blocker.write_text("")
    monkeypatch.setenv("FGSM_STUDIO_HOME", str(blocker / "home"))
    assert paths.user_data_dir() == blocker / "home"  # no exception
    problems = paths.unwritable_folders()
    assert len(problems) == 3
    assert "data folder" in problems[0] and "settings will not be saved" in problems[0]
    assert "log folder" in problems[1] and str(blocker / "home" / "logs") in problems[1]


def _serve(monkeypatch, payload: bytes, fail_after: int | None = None) -> None:
    """A fake opener serving ``payload``; with ``fail_after``, the connection drops mid-way."""

    class Response(io.BytesIO):
        headers = {"Content-Length": str(len(payload))}

        def read(self, n=-1):
            if fail_after is not None and self.tell() >= fail_after:
                raise ConnectionResetError(104, "Connection reset by peer")
            return super().read(min(n, fail_after or n))

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: Response(payload))


def test_a_download_cut_mid_way_leaves_no_partial_file(monkeypatch, tmp_path):
    _serve(monkeypatch, b"x" * 3000, fail_after=1000)
    target = tmp_path / "resnet50-11ad3fa6.pth"
    with pytest.raises(ConnectionResetError):
        imagenet._fetch("https://example/resnet50-11ad3fa6.pth", target, None)
    assert list(tmp_path.iterdir()) == []  # neither the target nor a .part


def test_a_damaged_download_leaves_no_partial_file(monkeypatch, tmp_path):
    _serve(monkeypatch, b"not the weights")
    target = tmp_path / "resnet50-11ad3fa6.pth"
    with pytest.raises(ValueError, match="checksum"):
        imagenet._fetch("https://example/resnet50-11ad3fa6.pth", target, None)
    assert list(tmp_path.iterdir()) == []


def test_a_file_url_downloads_whole(tmp_path):
    payload = bytes(range(256)) * 50
    prefix = hashlib.sha256(payload).hexdigest()[:8]
    source = tmp_path / "src" / f"mobilenet_v2-{prefix}.pth"
    source.parent.mkdir()
    source.write_bytes(payload)
    target = tmp_path / "out" / source.name
    target.parent.mkdir()
    said: list[str] = []
    imagenet._fetch(source.as_uri(), target, said.append)
    assert target.read_bytes() == payload and said
    assert [p.name for p in target.parent.iterdir()] == [source.name]


def test_an_offline_download_leaves_the_cache_clean(monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(imagenet.CheckpointError, match="offline"):
        imagenet.download_torchvision("resnet50")
    assert list(paths.user_cache_dir().iterdir()) == []
