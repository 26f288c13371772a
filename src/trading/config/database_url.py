"""Which database a bot uses, and where that was said.

``--db URL`` wins, then ``TRADINGBOT_DATABASE_URL``, then ``DATABASE_URL`` (in the environment or
the ``.env`` file), then ``database.url`` in the config, then ``sqlite:///data/<bot_id>.sqlite``.
A URL in the environment keeps a password off the command line, where every user of the machine
can read it (``/proc/PID/cmdline``, ``ps``); a PostgreSQL URL without a password lets libpq take
it from ``PGPASSWORD`` or ``~/.pgpass``, so the URL itself holds no secret at all.
"""
from __future__ import annotations

import os
from typing import Mapping

DATABASE_URL_VARIABLES = ("TRADINGBOT_DATABASE_URL", "DATABASE_URL")  # the first one set wins


def database_url_from_environment(environ: Mapping[str, str] | None = None
                                  ) -> tuple[str, str] | None:
    """``(variable, url)`` of the first of ``DATABASE_URL_VARIABLES`` that is set and not empty,
    or None."""
    env = os.environ if environ is None else environ
    for name in DATABASE_URL_VARIABLES:
        url = env.get(name, "").strip()
        if url:
            return name, url
    return None
