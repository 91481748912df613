"""The ``nvr`` command: ``run``, ``check-config``, ``models``, ``bench`` and ``--version``."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

import yaml

from nvr.config import ConfigError, NvrConfig, config_warnings, load_config
from nvr.version import version_string

EXIT_CONFIG = 2
LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


def default_config_path() -> str:
    """``$NVR_CONFIG``, then ``$CONFIG_FILE`` (Frigate 0.8's variable), then ./config.yml."""
    return os.environ.get("NVR_CONFIG") or os.environ.get("CONFIG_FILE") or "config.yml"


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-c", "--config", default=None, metavar="FILE",
                        help="config file (.yml, .yaml or .json); default: $NVR_CONFIG, "
                             "$CONFIG_FILE or ./config.yml")
    common.add_argument("--log-level", choices=LOG_LEVELS, default=None,
                        help="override logger.default of the config")
    parser = argparse.ArgumentParser(
        prog="nvr", description="Network video recorder with object detection.")
    parser.add_argument("--version", action="version", version=f"nvr {version_string()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", parents=[common], help="run the service")
    commands.add_parser("check-config", parents=[common],
                        help="validate the config and print it resolved")
    models = commands.add_parser("models", help="detector model files")
    models_commands = models.add_subparsers(dest="models_command", required=True,
                                            metavar="COMMAND")
    download = models_commands.add_parser(
        "download", help="fetch the default SSD MobileNet model and COCO labels from their "
        "origin or a mirror (nvr ships them and uses them by default)")
    download.add_argument("--dest", default="models", metavar="DIR",
                          help="folder to write them to (default: ./models)")
    download.add_argument("--mirror", default=None, metavar="URL",
                          help="fetch the files from URL/<file name> instead")
    from nvr.bench.command import add_parser as add_bench_parser

    add_bench_parser(commands)
    return parser


def _warn_about(config: NvrConfig) -> None:
    for warning in config_warnings(config):
        logging.getLogger("nvr.config").warning("%s", warning)


def check_config(path: str) -> int:
    """Every check ``nvr run`` makes short of starting cameras, then the resolved config."""
    from nvr.config.ffmpeg import use_ffmpeg
    from nvr.config.secrets import Redactor
    from nvr.config.view import config_view
    from nvr.detection.setup import detector_setup, detects
    from nvr.service import prepare_media_folders

    logging.basicConfig(format="%(levelname)s: %(message)s")
    config = load_config(path)
    use_ffmpeg(config.ffmpeg.path)  # the ffmpeg_cmds shown name it
    _warn_about(config)
    prepare_media_folders(config, path, create=False)
    if detects(config):
        detector_setup(config, path)  # the model files, their backend and input size
    try:
        view = config_view(config, Redactor.of(config, os.environ))
        yaml.safe_dump(view, sys.stdout, sort_keys=False)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader (`| head`) has gone: not an error; keep Python quiet at exit too.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


def run(path: str, log_level: str | None) -> int:
    import trio

    from nvr import service
    from nvr.config.secrets import Redactor
    from nvr.log import setup_logging

    config = load_config(path)
    setup_logging(config.logger, Redactor.of(config, os.environ), log_level)
    _warn_about(config)
    service.prepare_media_folders(config, path)
    try:
        trio.run(service.run, config, path)
    except service.StartupError as error:
        logging.getLogger("nvr").error("%s", error)
        return 1
    return 0


def download_models(dest: str, mirror: str | None) -> int:
    from nvr.detection.download import DownloadError, download_reference_model

    try:
        paths = download_reference_model(Path(dest), mirror=mirror)
    except DownloadError as error:
        print(f"nvr: {error}", file=sys.stderr)
        return 1
    model, labels = (path.resolve() for path in paths)
    print(f"model: {model}\nlabels: {labels}\n"
          f"nvr uses the same files from its package without a model block; to use these, "
          f"set model.path: {model} and model.labelmap_path: {labels} (a relative path in a "
          f"config is taken from the config file's folder)")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``nvr`` and ``python -m nvr``; returns the exit code."""
    args = build_parser().parse_args(argv)
    if args.command == "models":
        return download_models(args.dest, args.mirror)
    if args.command == "bench":
        from nvr.bench.command import main as bench

        return bench(args)
    path = args.config or default_config_path()
    try:
        if args.command == "check-config":
            return check_config(path)
        return run(path, args.log_level)
    except ConfigError as error:
        print(error.report(), file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 0
