"""Console and rotating-file logging for a bot run, and a filter that keeps secrets out of logs."""
from __future__ import annotations

import logging
import os
import re
from logging.handlers import RotatingFileHandler
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
SECRET_NAME = re.compile(r"(API_KEY|SECRET|TOKEN|PASSWORD)$")
# their INFO lines only at DEBUG: migration steps; every HTTP request (with the Telegram URL)
CHATTY_LIBRARIES = ("alembic", "httpx", "httpcore", "telegram")
FILE_ONLY = {"file_only": True}  # ``extra=`` for a record the terminal already shows otherwise


class SecretFilter(logging.Filter):
    """Replaces the value of any secret found in the environment with ``***`` in log records.

    A secret is any variable whose name ends in API_KEY, SECRET, TOKEN or PASSWORD.
    """

    def __init__(self) -> None:
        super().__init__()
        self.secrets = [v for k, v in os.environ.items() if SECRET_NAME.search(k) and len(v) >= 6]

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            if any(s in message for s in self.secrets):
                for secret in self.secrets:
                    message = message.replace(secret, "***")
                record.msg, record.args = message, None
        return True


def setup_logging(level: str, log_file: Path | None = None) -> None:
    """Log to stderr and, when given, to a rotating file (10 MB x 5)."""
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


def add_log_file(log_file: Path) -> None:
    """Also log to ``log_file`` (rotating, 10 MB x 5), creating its folder."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    file_handler = RotatingFileHandler(log_file, maxBytes=10_000_000, backupCount=5,
                                       encoding="utf-8")
    file_handler.setFormatter(logging.Formatter(FORMAT))
    file_handler.addFilter(SecretFilter())
    logging.getLogger().addHandler(file_handler)
