"""The bot's log file: the same lines and the same rollover as logging's RotatingFileHandler,
for one format per record."""
from __future__ import annotations

import logging
from logging.handlers import RotatingFileHandler

from trading.runtime.logging_setup import RotatingLogFile


def write_lines(handler: logging.Handler, name: str, count: int) -> None:
    logger = logging.getLogger(f"test_log_file.{name}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    try:
        for i in range(count):
            logger.info("ENTRY %03d @ %.8g (%s)", i, 42_000.5 + i, "RSIBBEntryMixin")
    finally:
        logger.removeHandler(handler)
        handler.close()


def test_it_writes_and_rolls_over_exactly_as_the_standard_handler(tmp_path):
    for name, cls in (("standard", RotatingFileHandler), ("ours", RotatingLogFile)):
        path = tmp_path / f"{name}.log"
        path.write_text("a line from an earlier run\n" * 20, encoding="utf-8")
        write_lines(cls(path, maxBytes=3_000, backupCount=2, encoding="utf-8"), name, 200)
    for suffix in ("", ".1", ".2"):
        ours = (tmp_path / f"ours.log{suffix}").read_text(encoding="utf-8")
        assert ours == (tmp_path / f"standard.log{suffix}").read_text(encoding="utf-8")
        assert ours  # every file of the rotation exists and holds lines
    assert not (tmp_path / "ours.log.3").exists()  # backupCount kept


def test_a_log_file_that_is_not_a_regular_file_never_rolls_over(tmp_path):
    handler = RotatingLogFile("/dev/null", maxBytes=10, backupCount=1)
    write_lines(handler, "devnull", 5)  # longer than maxBytes: a regular file would roll over
    assert handler.stream is None or handler.stream.closed
