"""Console and rotating-file logging for a bot run, and a filter that keeps secrets out of logs."""
from __future__ import annotations

import logging
import os
import sys
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import Callable

from trading.config.names import log_file_problem
from trading.config.secrets import env_secrets
from trading.core.errors import NO_SPACE, ConfigError
from trading.core.redaction import SecretValues, known_secrets, register_secrets

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# their INFO lines only at DEBUG: migration steps; every HTTP request (with the Telegram URL)
CHATTY_LIBRARIES = ("alembic", "httpx", "httpcore", "telegram")
FILE_ONLY = {"file_only": True}  # ``extra=`` for a record the terminal already shows otherwise
_EXCEPTIONS = logging.Formatter()


class SecretFilter(logging.Filter):
    """Replaces every registered secret (``trading.core.redaction.known_secrets``) with ``***`` in
    a record's message, exception text and stack, whichever logger made it (httpx logging a
    webhook's URL, python-telegram-bot a ``/bot<token>/`` path).

    On the handlers, so every record that reaches a log is filtered. Secrets registered after the
    handler was made count as well. ``secrets``: another set than the process's (tests).
    """

    def __init__(self, secrets: SecretValues | None = None) -> None:
        super().__init__()
        self._secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = self._secrets if self._secrets is not None else known_secrets()
        if not secrets:
            return True
        message = record.getMessage()
        redacted = secrets.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:  # formatted once, here, then redacted
            record.exc_text = _EXCEPTIONS.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = secrets.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = secrets.redact(record.stack_info)
        return True


def redact_log_handlers() -> None:
    """Filter secrets out of every handler the root logger has (after ``logging.basicConfig``)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, SecretFilter) for f in handler.filters):
            handler.addFilter(SecretFilter())


class RotatingLogFile(RotatingFileHandler):
    """``RotatingFileHandler`` (same file, same lines, same rollover) that formats each record once.

    The standard handler, for every record, checks twice that the path is still a regular file,
    formats the record a second time to measure it and seeks to the end of the file: about 0.1 ms
    of a live bar for each ENTRY/EXIT line. Here the size is read when the file is opened and
    counted from there, as this process is the file's one writer; whether it is a regular file
    (``/dev/null`` never rolls over) is checked once, at opening.
    """

    _size = 0
    _regular = True
    on_disk_full: Callable[[str], None] | None = None  # told once when the disk is full
    _full = False

    def _open(self):  # type: ignore[no-untyped-def]
        stream = super()._open()
        self._size = stream.seek(0, os.SEEK_END)
        self._regular = os.path.isfile(self.baseFilename)
        return stream

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record) + self.terminator
            if self.stream is None:  # delayed, or reopened after a rollover failed
                self.stream = self._open()
            if self.maxBytes > 0 and self._regular and self._size + len(text) >= self.maxBytes:
                self.doRollover()  # opens the new file, which counts from its own size
            self.stream.write(text)
            self.flush()
            self._size += len(text)
        except RecursionError:  # as logging's own handlers do
            raise
        except Exception:
            self.handleError(record)

    def handleError(self, record: logging.LogRecord) -> None:
        """A full disk is told once to ``on_disk_full`` (the bot stops), and the lines that
        follow are dropped quietly (the terminal still shows them); other errors as usual."""
        exc = sys.exc_info()[1]
        if not (isinstance(exc, OSError) and exc.errno in NO_SPACE):
            super().handleError(record)
            return
        if self._full:
            return
        self._full = True
        if self.on_disk_full is not None:
            self.on_disk_full(f"the disk is full: writing the log file {self.baseFilename} failed "
                              f"({exc.strerror}); free space on that disk and restart the bot")


def setup_logging(level: str, log_file: Path | None = None) -> None:
    """Log to stderr and, when given, to a rotating file (10 MB x 5), without secrets: the
    environment's are registered here, the config's by the command (``register_config_secrets``)."""
    register_secrets(env_secrets(os.environ))
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.setLevel(level.upper())
    quiet = logging.DEBUG if level.upper() == "DEBUG" else logging.WARNING
    for name in CHATTY_LIBRARIES:
        logging.getLogger(name).setLevel(quiet)
    console = logging.StreamHandler()
    console.setFormatter(logging.Formatter(FORMAT))
    console.addFilter(SecretFilter())
    console.addFilter(lambda record: not getattr(record, "file_only", False))
    root.addHandler(console)
    if log_file is not None:
        add_log_file(log_file)


def setup_warnings_logging() -> None:
    """Warnings and errors to stderr, secrets filtered: the logging of replay and sweep (their
    config's secrets are registered once it is read: ``register_config_secrets``)."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    register_secrets(env_secrets(os.environ))
    redact_log_handlers()


def add_log_file(log_file: Path, on_disk_full: Callable[[str], None] | None = None) -> None:
    """Also log to ``log_file`` (rotating, 10 MB x 5), creating its folder; ``on_disk_full``
    is called once, with a message for people, when the disk under it is full.

    Raises ConfigError naming ``logging.log_file`` when it cannot be a log file: under /proc,
    /sys or /dev, a folder, or not writable.
    """
    problem = log_file_problem(str(log_file))
    if problem:
        raise ConfigError(f"logging.log_file: {problem}")
    try:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        file_handler = RotatingLogFile(log_file, maxBytes=10_000_000, backupCount=5,
                                       encoding="utf-8")
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        reason = getattr(exc, "strerror", None) or str(exc)
        if isinstance(exc, FileExistsError):  # mkdir met a file where a folder should be
            reason = f"{next(p for p in log_file.parents if p.exists())} is a file, not a folder"
        raise ConfigError(f"logging.log_file: cannot write the log file {log_file}: {reason}; "
                          "set logging.log_file to a file in a folder you can write") from None
    file_handler.on_disk_full = on_disk_full
    file_handler.setFormatter(logging.Formatter(FORMAT))
    file_handler.addFilter(SecretFilter())
    logging.getLogger().addHandler(file_handler)
