"""The ``email`` channel: one e-mail per message through smtplib, in a worker thread.

``SMTP_SECURITY`` starttls (default: plain connection upgraded with STARTTLS), ssl (TLS from the
first byte, usually port 465) or none (a local relay only). The server's certificate is checked
against the system's CAs (``SSL_CERT_FILE`` points at another bundle, e.g. a private CA). The
subject is the message's title line, the body its full text. smtplib blocks, so each send runs in
a thread with the channel's timeout on every socket operation; the password never leaves
``login``.
"""
from __future__ import annotations

import asyncio
import smtplib
import socket
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from notify.channel import ChannelError, ChannelLimits
from notify.messages import Message
from notify.settings import EmailSettings
from trading.core.redaction import redact


class EmailChannel:
    """Mails each message to ``settings.to_addrs``."""

    name = "email"

    def __init__(self, settings: EmailSettings, limits: ChannelLimits) -> None:
        self.settings = settings
        self.limits = limits

    def compose(self, message: Message) -> EmailMessage:
        s = self.settings
        mail = EmailMessage()
        mail["Subject"] = message.title
        mail["From"] = s.from_addr
        mail["To"] = ", ".join(s.to_addrs)
        mail["Date"] = formatdate(localtime=False, usegmt=True)
        mail["Message-ID"] = make_msgid(domain=s.from_addr.rpartition("@")[2] or None)
        mail.set_content(message.text + "\n")
        return mail

    def _send_blocking(self, mail: EmailMessage) -> None:
        s, timeout = self.settings, self.limits.timeout_seconds
        context = ssl.create_default_context()
        if s.security == "ssl":
            client: smtplib.SMTP = smtplib.SMTP_SSL(s.host, s.port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(s.host, s.port, timeout=timeout)
        with client:
            if s.security == "starttls":
                client.starttls(context=context)
            if s.username:
                client.login(s.username, s.password)
            client.send_message(mail)

    async def send(self, message: Message) -> None:
        mail = self.compose(message)
        try:
            await asyncio.to_thread(self._send_blocking, mail)
        except smtplib.SMTPAuthenticationError as exc:
            raise ChannelError(f"{self.settings.host}:{self.settings.port} refused the login of "
                               f"{self.settings.username} ({exc.smtp_code})") from None
        except (smtplib.SMTPException, OSError, ssl.SSLError, socket.timeout) as exc:
            text = redact(f"{type(exc).__name__}: {exc}", [self.settings.password])
            raise ChannelError(f"{self.settings.host}:{self.settings.port}: {text}") from None

    async def close(self) -> None:
        """Nothing to release: every message uses its own connection."""
