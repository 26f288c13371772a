"""A loopback stand-in for a PostgreSQL server that asks for a password and records it.

It speaks only the start of PostgreSQL's protocol (v3): it declines SSL and GSS encryption,
reads the startup message (user, database), asks for the password in clear text, records what
the client sent, and refuses the login as a real server refuses a wrong password. That is enough
to see which password libpq sends (from the URL, ``PGPASSWORD`` or a ``.pgpass`` file) on a
machine whose real server trusts every local login and so never asks for one.
"""
from __future__ import annotations

import socket
import struct
import threading

SSL_REQUEST, GSS_REQUEST = 80877103, 80877104
PROTOCOL_3 = 196608


class FakePgAuth:
    """``start()`` it, connect to ``port`` on 127.0.0.1, read ``logins`` (user, database, password)."""

    def __init__(self) -> None:
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._sock.settimeout(0.2)
        self.port = self._sock.getsockname()[1]
        self.logins: list[tuple[str, str, str]] = []
        self.login = threading.Event()  # set at each recorded login
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="fake-pg-auth", daemon=True)

    def start(self) -> "FakePgAuth":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
        self._sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except socket.timeout:
                continue
            with conn:
                conn.settimeout(10)
                try:
                    self._session(conn)
                except (OSError, ValueError):  # the client gave up: wait for the next one
                    continue

    def _session(self, conn: socket.socket) -> None:
        while True:  # SSL / GSS requests first, each declined, then the startup message
            length, code = struct.unpack("!ii", _read(conn, 8))
            body = _read(conn, length - 8)
            if code in (SSL_REQUEST, GSS_REQUEST):
                conn.sendall(b"N")
                continue
            if code != PROTOCOL_3:
                raise ValueError(f"unknown startup code {code}")
            break
        words = body.split(b"\0")
        params = dict(zip(words[0::2], words[1::2]))
        conn.sendall(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
        kind, length = struct.unpack("!ci", _read(conn, 5))
        if kind != b"p":
            raise ValueError(f"expected a password message, got {kind!r}")
        password = _read(conn, length - 4).rstrip(b"\0").decode()
        self.logins.append((params.get(b"user", b"").decode(),
                            params.get(b"database", b"").decode(), password))
        self.login.set()
        fields = (b"SFATAL\0C28P01\0Mpassword authentication failed (fake server)\0\0")
        conn.sendall(b"E" + struct.pack("!i", len(fields) + 4) + fields)


def _read(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            raise ValueError("the client closed the connection")
        data += chunk
    return data
