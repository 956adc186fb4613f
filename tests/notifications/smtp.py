"""A real SMTP server on loopback (aiosmtpd) that keeps what it is sent."""

import asyncio
import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Recorder:
    """The server's handler: records each message, or refuses it with ``fail_with``.

    ``wait_for_peers``: hold each message until that many client connections have been
    seen (so concurrent senders are provably sending at the same time), at most
    ``wait_seconds``. ``on_message`` is called with each message before it is answered.
    """

    def __init__(self):
        self.messages: list[EmailMessage] = []
        self.peers: set = set()
        self.fail_with: str | None = None
        self.wait_for_peers = 0
        self.wait_seconds = 30.0
        self.on_message = None
        self._lock = threading.Lock()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        self.peers.add(session.peer)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.fail_with:
            return self.fail_with
        waited = 0.0
        while len(self.peers) < self.wait_for_peers and waited < self.wait_seconds:
            await asyncio.sleep(0.05)
            waited += 0.05
        message = message_from_bytes(envelope.content, policy=policy.default)
        with self._lock:
            self.messages.append(message)
        if self.on_message:
            self.on_message(message)
        return "250 OK"


class SmtpServer:
    def __init__(self):
        self.recorder = Recorder()
        self.port = free_port()
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def messages(self) -> list[EmailMessage]:
        return list(self.recorder.messages)

    def start(self):
        self.controller.start()
        return self

    def stop(self):
        self.controller.stop()
