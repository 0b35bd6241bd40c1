"""A loopback TCP server that accepts connections and never answers: a hung git or API server."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator


@contextlib.contextmanager
def hung_server() -> Iterator[str]:
    """Yield `http://127.0.0.1:PORT/kai-gitops.git` of a server that accepts and stays silent."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.settimeout(0.1)
    conns: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conns.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/kai-gitops.git"
    finally:
        stop.set()
        thread.join()
        for conn in conns:
            conn.close()
        sock.close()
