"""Secrets known by value: masked in every logger's lines (message, arguments, exception), in the
config copies reports keep, and in events; short values are left alone."""
from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from trading.config.secrets import scrub_config, secret_values
from trading.core.redaction import SecretValues, hide_url_secrets, url_secrets, whole_url_secrets
from trading.runtime.logging_setup import FORMAT, SecretFilter

TOKEN = "987654321:AAE-unit-test-token-q7"
HOOK = "https://hooks.example.com/services/T01/B02/unit-hook-token"
DB_URL = "postgresql+psycopg://trader:p%40ss-unit-Zz9@db.example.com:5432/bots"


def log_through_filter(secrets: SecretValues, logger_name: str, emit) -> str:
    """What one handler with the filter writes for the records ``emit(logger)`` makes."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(SecretFilter(secrets))
    logger = logging.getLogger(logger_name)
    logger.propagate, logger.level = False, logging.DEBUG
    logger.addHandler(handler)
    try:
        emit(logger)
    finally:
        logger.removeHandler(handler)
    return stream.getvalue()


def test_a_third_party_logger_line_loses_the_url_and_token_it_carries():
    secrets = SecretValues(whole_url_secrets(HOOK) + [TOKEN])

    def emit(logger: logging.Logger) -> None:
        logger.info('HTTP Request: %s %s "%s"', "POST", HOOK, "HTTP/1.1 200 OK")
        logger.debug("POST /bot%s/getUpdates", TOKEN)
        logger.debug("send_request_headers.started path=%r", "/services/T01/B02/unit-hook-token")

    text = log_through_filter(secrets, "httpx", emit)
    assert 'HTTP Request: POST *** "HTTP/1.1 200 OK"' in text
    assert "POST /bot***/getUpdates" in text and "path='***'" in text
    assert "unit-hook-token" not in text and "AAE-unit" not in text


def test_an_exception_text_is_masked_too():
    secrets = SecretValues([TOKEN])

    def emit(logger: logging.Logger) -> None:
        try:
            raise ConnectionError(f"cannot reach https://api.example.org/bot{TOKEN}/sendMessage")
        except ConnectionError:
            logger.exception("the channel failed")

    text = log_through_filter(secrets, "telegram.ext", emit)
    assert "Traceback" in text and "/bot***/sendMessage" in text and TOKEN not in text


def test_short_values_are_not_secrets_and_lines_without_secrets_are_unchanged():
    secrets = SecretValues(["abc", "", "  ", "12345"])
    assert not secrets
    secrets.add(["longer-secret"])
    assert secrets.redact("abc 12345 longer-secret") == "abc 12345 ***"
    assert secrets.redact("nothing here") == "nothing here"


def test_a_percent_encoded_secret_is_found_as_well():
    secrets = SecretValues(["p@ss word/1"])
    assert secrets.redact("GET /x?pw=p%40ss%20word%2F1 and p@ss word/1") == "GET /x?pw=*** and ***"


def test_url_credentials_are_found_and_masked():
    assert url_secrets(DB_URL) == ["p%40ss-unit-Zz9", "p@ss-unit-Zz9"]
    assert url_secrets("https://h.example/x?token=tok-123456&page=2") == ["tok-123456"]
    assert url_secrets("sqlite:///data/0001.sqlite") == [] and url_secrets("not a url") == []
    assert hide_url_secrets(DB_URL) == "postgresql+psycopg://trader:***@db.example.com:5432/bots"
    assert hide_url_secrets("https://h.example/x?token=tok-123456&page=2") == \
        "https://h.example/x?token=***&page=2"
    assert hide_url_secrets(HOOK, whole=True) == "https://hooks.example.com/***"
    assert hide_url_secrets("sqlite:///data/0001.sqlite") == "sqlite:///data/0001.sqlite"


def test_a_config_copy_keeps_no_secret_and_everything_else():
    document = {"bot_id": "0001", "database": {"url": DB_URL},
                "notifications": {"webhook": {"enabled": True, "url": HOOK, "format": "json"}},
                "broker": {"endpoints": {"rest": "https://user:rest-pw-12345@proxy.example/api"}},
                "description": f"pasted by mistake: {TOKEN}"}
    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "HOME": "/home/trader"}
    secrets = SecretValues(secret_values(document, env))
    copy = scrub_config(document, secrets)
    assert copy["database"]["url"] == "postgresql+psycopg://trader:***@db.example.com:5432/bots"
    assert copy["notifications"]["webhook"] == {
        "enabled": True, "url": "https://hooks.example.com/***", "format": "json"}
    assert copy["broker"]["endpoints"]["rest"] == "https://user:***@proxy.example/api"
    assert copy["description"] == "pasted by mistake: ***"
    assert copy["bot_id"] == "0001" and document["database"]["url"] == DB_URL  # a copy
    text = repr(copy)
    for value in ("p%40ss-unit-Zz9", "unit-hook-token", "rest-pw-12345", TOKEN,
                  TOKEN.split(":")[1]):
        assert value not in text


def test_the_environment_s_secrets_are_known_by_name_and_by_venue():
    env = {"BINANCE_API_SECRET": "bin-secret-123", "BINANCE_TESTNET_API_KEY": "tn-key-12345",
           "SMTP_PASSWORD": "smtp-pw-123", "WEBHOOK_URL": HOOK, "HOME": "/home/trader",
           "DATABASE_URL": DB_URL, "TELEGRAM_API_URL": "https://api.telegram.org"}
    found = secret_values({}, env)
    for value in ("bin-secret-123", "tn-key-12345", "smtp-pw-123", HOOK, "p@ss-unit-Zz9"):
        assert value in found
    assert "/home/trader" not in found and "https://api.telegram.org" not in found


@dataclass(frozen=True)
class _Failure:
    message: str
    attempts: int


def test_an_event_s_text_fields_are_masked():
    secrets = SecretValues([TOKEN])
    event = _Failure(message=f"POST /bot{TOKEN}/sendMessage timed out", attempts=3)
    assert secrets.redact_fields(event) == _Failure("POST /bot***/sendMessage timed out", 3)
    clean = _Failure("fine", 1)
    assert secrets.redact_fields(clean) is clean
