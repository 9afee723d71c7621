"""HTTP with limits: each answer read whole within max_answer_bytes and max_request_seconds."""

from __future__ import annotations

import socket
import threading

import requests
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError

CHUNK = 64 * 1024


class _TooLarge(requests.RequestException):
    """Raised by the transport while reading an answer over the size limit."""


class _TooSlow(requests.Timeout):
    """Raised by the transport when one request has taken longer than max_request_seconds.

    The class names are what RequestStats.failures counts under ("_TooSlow").
    """


_current = threading.local()  # the connection the running request uses, for the watchdog


class _Slot:
    conn = None


def _track(conn):
    slot = getattr(_current, "slot", None)
    if slot is not None:
        slot.conn = conn
    return conn


class _TrackedHTTPPool(HTTPConnectionPool):
    def _get_conn(self, timeout=None):
        return _track(super()._get_conn(timeout))


class _TrackedHTTPSPool(HTTPSConnectionPool):
    def _get_conn(self, timeout=None):
        return _track(super()._get_conn(timeout))


_POOLS = {"http": _TrackedHTTPPool, "https": _TrackedHTTPSPool}


class LimitedAdapter(HTTPAdapter):
    """Reads each answer itself: at most max_bytes on the wire and decompressed, and the whole
    request (connect, headers, body) within max_seconds.

    A socket read timeout restarts with every byte, so a server that trickles its answer would
    hold a request for as long as it likes; a watchdog shuts the connection down at the deadline.
    """

    def __init__(self, max_bytes: int, max_seconds: float):
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):  # SOCKS has pools of its own: no watchdog
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        slot = _Slot()
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            sock = getattr(slot.conn, "sock", None)
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        watchdog = threading.Timer(self.max_seconds, expire)
        watchdog.daemon = True
        _current.slot = slot
        watchdog.start()
        try:
            try:
                response = super().send(request, stream=True, timeout=timeout, verify=verify,
                                        cert=cert, proxies=proxies)
            except requests.RequestException:
                if expired.is_set():
                    raise _TooSlow(self._slow_message(), request=request) from None
                raise
            try:
                self._read(response)
            except _TooLarge:
                response.close()
                raise
            except (ProtocolError, ReadTimeoutError, DecodeError, OSError) as exc:
                response.close()
                if expired.is_set():
                    raise _TooSlow(self._slow_message(), request=request) from None
                if isinstance(exc, ReadTimeoutError):
                    raise requests.exceptions.ReadTimeout(exc, request=request) from None
                if isinstance(exc, DecodeError):
                    raise requests.exceptions.ContentDecodingError(exc, request=request) from None
                raise requests.exceptions.ChunkedEncodingError(exc, request=request) from None
            if expired.is_set():
                # Cut off in the headers, a response can look complete and empty: it is not.
                response.close()
                raise _TooSlow(self._slow_message(), request=request)
            return response
        finally:
            watchdog.cancel()
            _current.slot = None

    def _slow_message(self) -> str:
        return f"no complete answer within {self.max_seconds:g} s"

    def _read(self, response: requests.Response) -> None:
        limit = self.max_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.strip().isdigit() and int(declared) > limit:
            raise _TooLarge(f"the answer is {size_text(int(declared))}, over the limit of "
                           f"{size_text(limit)}", response=response)
        chunks, size = [], 0
        raw = response.raw
        for chunk in raw.stream(CHUNK, decode_content=True):
            size += len(chunk)
            if size > limit or raw.tell() > limit:
                raise _TooLarge(f"the answer is over the limit of {size_text(limit)}",
                               response=response)
            chunks.append(chunk)
        response._content = b"".join(chunks)
        response._content_consumed = True


def size_text(n: int) -> str:
    """A byte count as a person reads it: "2.5 MB", "640 kB", "12 bytes"."""
    if n >= 1_000_000:
        return f"{n / 1_000_000:g} MB"
    if n >= 1000:
        return f"{n / 1000:g} kB"
    return f"{n} bytes"
