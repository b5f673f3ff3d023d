"""``askfirst model list | path [LANG] | download LANG``: find and fetch Vosk models."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from askfirst.speech.errors import SpeechError
from askfirst.speech.models import REGISTRY, download_model, find_model, list_models

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``model`` command and its subcommands; each sets ``func(args) -> exit code``."""
    model = subparsers.add_parser("model", help="find and download Vosk speech models")
    model.set_defaults(func=lambda _args: _usage(model))
    commands = model.add_subparsers(dest="model_command", metavar="{list,path,download}")

    listing = commands.add_parser("list", help="installed models and downloadable ones")
    listing.set_defaults(func=_list)

    path = commands.add_parser("path", help="print the model directory used for LANG")
    path.add_argument("lang", nargs="?", default=None, help="language, e.g. ko or en-US")
    path.set_defaults(func=_path)

    download = commands.add_parser("download", help="download, verify and install a model")
    download.add_argument("lang", help="language (ko, en) or an official model name")
    download.add_argument("--url", default=None, help="archive URL (default: the registry's)")
    download.add_argument("--sha256", default=None, help="expected SHA-256 of the archive")
    download.add_argument("--cache-dir", type=Path, default=None, help="install directory")
    download.set_defaults(func=_download)


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_usage(sys.stderr)
    return 2


def _list(args: argparse.Namespace) -> int:
    installed = list_models()
    sys.stdout.write("installed:\n")
    if not installed:
        sys.stdout.write("  (none; run `askfirst model download LANG`)\n")
    for model in installed:
        sys.stdout.write(f"  {model.lang or '?':<4} {model.source:<8} {model.path}\n")
    sys.stdout.write("downloadable (askfirst model download NAME --sha256 HEX):\n")
    for entry in REGISTRY:
        known = "sha256 known" if entry.sha256 else "sha256 required"
        sys.stdout.write(f"  {entry.lang:<4} {entry.name}  ({known})\n")
    return 0


def _path(args: argparse.Namespace) -> int:
    try:
        sys.stdout.write(f"{find_model(args.lang)}\n")
    except SpeechError as error:
        sys.stderr.write(f"askfirst model path: {error.message}\n")
        return 1
    return 0


def _download(args: argparse.Namespace) -> int:
    try:
        path = download_model(args.lang, url=args.url, sha256=args.sha256, cache_dir=args.cache_dir)
    except SpeechError as error:
        sys.stderr.write(f"askfirst model download: {error.message}\n")
        return 1
    sys.stdout.write(f"{path}\n")
    return 0
