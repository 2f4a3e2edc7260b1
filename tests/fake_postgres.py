"""Fake PostgreSQL servers, for the failures the real test servers cannot produce."""

from __future__ import annotations

import contextlib
import socket
import struct
import threading

SSL_REQUEST, GSSENC_REQUEST = 80877103, 80877104


class PasswordRefusingServer:
    """Speaks just enough of the PostgreSQL protocol to ask for a password and refuse it, as a server
    with password authentication does: the test servers trust every local connection, so they cannot."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.passwords: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed
                return
            with client, contextlib.suppress(ConnectionError):
                self._refuse(client)

    def _refuse(self, client: socket.socket) -> None:
        while True:  # SSL and GSS encryption requests are declined; then comes the startup message
            length, code = struct.unpack("!ii", _read(client, 8))
            _read(client, length - 8)
            if code not in (SSL_REQUEST, GSSENC_REQUEST):
                break
            client.sendall(b"N")
        client.sendall(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
        _, length = struct.unpack("!ci", _read(client, 5))
        self.passwords.append(_read(client, length - 4).rstrip(b"\0"))
        fields = b"SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user \"clerk\"\0\0"
        client.sendall(b"E" + struct.pack("!i", len(fields) + 4) + fields)

    def __enter__(self) -> PasswordRefusingServer:
        return self

    def __exit__(self, *_: object) -> None:
        self.listener.close()


def _read(client: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = client.recv(size - len(data))
        if not chunk:
            raise ConnectionError("client went away")
        data += chunk
    return data
