"""One Settings object for the whole tool: explicit arguments > environment > defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from .errors import InputError

NCBI_EUTILS_URL = "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/"
DEFAULT_DB_URL = "sqlite:///db/pnet_pubmed.sqlite"
DEFAULT_CACHE_DIR = "cache/"
TOOL_NAME = "pnet-pubmed"

# Environment variable for each setting that users may set; flags of the CLI mirror them.
ENVIRONMENT = {
    "db_url": "PNET_PUBMED_DB",
    "cache_dir": "PNET_PUBMED_CACHE",
    "eutils_url": "PNET_PUBMED_EUTILS_URL",
    "api_key": "NCBI_API_KEY",
    "email": "NCBI_EMAIL",
    "sql_timeout": "PNET_PUBMED_SQL_TIMEOUT",
}


@dataclass(frozen=True)
class Settings:
    db_url: str = DEFAULT_DB_URL
    cache_dir: Path = Path(DEFAULT_CACHE_DIR)
    eutils_url: str = NCBI_EUTILS_URL
    api_key: str | None = field(default=None, repr=False)  # never printed: repr hides it
    email: str | None = field(default=None, repr=False)
    tool: str = TOOL_NAME
    offline: bool = False
    # Where link looks for records: "auto" (the mirror when the database holds one, then
    # E-utilities for what it does not match), "mirror" (never NCBI) or "eutils".
    source: str = "auto"
    # NCBI allows 3 requests/s without an API key and 10 with one.
    requests_per_second: float | None = None
    connect_timeout: float = 10.0
    read_timeout: float = 60.0  # between two reads of the socket
    # One request, from connecting to the last byte of the answer: a server that trickles its
    # answer restarts the read timeout with every byte, this does not restart.
    max_request_seconds: float = 120.0
    # The most an answer may be, on the wire and decompressed. 200 EFetch records are typically
    # 2-6 MB (25 kB a record with its reference list, the largest real ones 230 kB); a batch
    # whose answer is larger is fetched again in halves, so this bounds memory, not what links.
    max_answer_bytes: int = 32_000_000
    max_attempts: int = 6
    max_backoff: float = 60.0
    cache_expire_days: float = 30.0
    efetch_batch: int = 200
    ecitmatch_batch: int = 200
    esearch_batch: int = 40
    # Seconds a `sql` statement may run before it is stopped (on the server too); 0: no limit.
    sql_timeout: float = 30.0

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> Settings:
        """Build settings from the environment; keyword arguments that are not None win."""
        if env is None:
            env = os.environ
        values: dict = {}
        for name, var in ENVIRONMENT.items():
            if env.get(var):
                values[name] = env[var]
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "cache_dir" in values:
            values["cache_dir"] = Path(values["cache_dir"])
        if "sql_timeout" in values:
            raw = values["sql_timeout"]
            try:
                values["sql_timeout"] = float(raw)
                if not values["sql_timeout"] >= 0:
                    raise ValueError
            except ValueError:
                raise InputError(f"{ENVIRONMENT['sql_timeout']} must be a number of seconds "
                                 f"(0: no limit), not {raw!r}") from None
        url = urlsplit(str(values.get("eutils_url", NCBI_EUTILS_URL)))
        if url.scheme not in ("http", "https") or not url.hostname:
            raise InputError(f"{ENVIRONMENT['eutils_url']} (--eutils-url) must be an http:// or "
                             f"https:// address, not {url.scheme + '://' if url.scheme else ''}"
                             f"{url.hostname or url.path[:60]!s}")
        if not values.get("eutils_url", NCBI_EUTILS_URL).endswith("/"):
            values["eutils_url"] = values["eutils_url"] + "/"
        return cls(**values)

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)

    @property
    def rate(self) -> float:
        if self.requests_per_second:
            return self.requests_per_second
        return 10.0 if self.api_key else 3.0

    @property
    def uses_ncbi(self) -> bool:
        return self.eutils_url.rstrip("/") == NCBI_EUTILS_URL.rstrip("/")
