"""A real SMTP server on loopback (aiosmtpd): STARTTLS with a self-signed certificate made here,
AUTH only after TLS, every message received kept (parsed) for the test to read.

A client trusts the certificate through ``SSL_CERT_FILE`` pointing at ``cert_file`` (what a user
with a private CA does too).
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import logging
import socket
import ssl
import threading
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from fakes.http_server import wait_on


# aiosmtpd 1.4 logs a warning about its own use of a deprecated session attribute on every AUTH
logging.getLogger("mail.log").setLevel(logging.ERROR)


def make_self_signed_cert(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, valid for a day, and its key (PEM files)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                                                        x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class FakeSMTP:
    """aiosmtpd on 127.0.0.1 requiring STARTTLS, then AUTH with ``username``/``password``."""

    def __init__(self, folder: Path, username: str, password: str) -> None:
        self.cert_file, key_file = make_self_signed_cert(folder)
        self.username, self.password = username, password
        self.messages: list[EmailMessage] = []
        self.envelopes: list[dict[str, Any]] = []
        self.auth_failures = 0
        self.lock = threading.Condition()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, key_file)
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port, tls_context=context,
                                     require_starttls=True, auth_required=True,
                                     auth_require_tls=True, authenticator=self._authenticate,
                                     ready_timeout=10)

    def start(self) -> "FakeSMTP":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def _authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                      auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login.decode() == self.username
              and auth_data.password.decode() == self.password)
        if not ok:
            with self.lock:
                self.auth_failures += 1
                self.lock.notify_all()
            return AuthResult(success=False, handled=False)  # handled=True would hang the client
        return AuthResult(success=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.content, policy=default_policy)
        with self.lock:
            self.envelopes.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos)})
            self.messages.append(message)  # type: ignore[arg-type]
            self.lock.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, predicate, timeout: float = 30.0) -> bool:
        """Wait (bounded) until ``predicate()`` holds; re-checked whenever a message arrives."""
        return wait_on(self.lock, predicate, timeout)
