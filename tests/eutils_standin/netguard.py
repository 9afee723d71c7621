"""Refuse every socket connection that is not to the loopback interface (tests stay offline)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})

# Every refused destination, so a fixture can fail the test even if the code under test
# swallowed the exception.
blocked: list[str] = []


class NetworkBlockedError(RuntimeError):
    """Raised instead of connecting anywhere but loopback. Not an OSError on purpose: retry
    loops that catch connection errors must not quietly absorb it."""


def is_loopback(host: object) -> bool:
    if host is None:
        return True  # getaddrinfo(None, port) means the local host
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return False
    name = host.strip("[]").split("%", 1)[0].lower()
    if name in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _refuse(what: str) -> None:
    blocked.append(what)
    raise NetworkBlockedError(
        f"tests must not reach the network: refused {what} (use the eutils stand-in fixture)")


@contextmanager
def guard() -> Iterator[None]:
    """Patch socket connect/connect_ex/getaddrinfo for the duration of the context."""
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def checked(sock: socket.socket, address: object) -> None:
        # AF_UNIX addresses are paths; only inet families leave the machine.
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address[0]):
            _refuse(f"connect to {address!r}")

    def connect(self: socket.socket, address: object) -> None:
        checked(self, address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        checked(self, address)
        return real_connect_ex(self, address)

    def getaddrinfo(host, *args, **kwargs):
        # Refusing the name lookup too keeps DNS queries for real hosts from leaving.
        if not is_loopback(host):
            _refuse(f"name lookup of {host!r}")
        return real_getaddrinfo(host, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(socket.socket, "connect", connect)
        mp.setattr(socket.socket, "connect_ex", connect_ex)
        mp.setattr(socket, "getaddrinfo", getaddrinfo)
        yield
