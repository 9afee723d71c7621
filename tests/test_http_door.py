"""The eutils package against hostile or broken answers: cache keys and format, EFetch contents,
redirects, size and time limits, secrets in logs, the shared rate limit, an unreachable host."""

from __future__ import annotations

import base64
import json
import logging
import os
import pickle
import sqlite3
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
import requests
import sqlalchemy as sa
from click.testing import CliRunner

from pnet_pubmed.cli import main
from pnet_pubmed.config import Settings
from pnet_pubmed.eutils import (
    CACHE_FILE,
    OLD_PICKLED_CACHE,
    AnswerTooLargeError,
    BadAnswer,
    EntrezClient,
    EntrezError,
    IncompleteAnswer,
    cache_key,
    open_cache,
    validate_efetch_answer,
)
from pnet_pubmed.pipeline import BUNDLED_COLLECTION, LinkError, link
from pnet_pubmed.store import Store
from tests.eutils_standin import FaultPlan, StandinServer

ROOT = Path(__file__).resolve().parents[1]
STYLES = Path(__file__).parent / "fixtures" / "styles"
STABLE = ("key", "raw", "status", "pmid", "candidates", "method", "score", "reason")
QUERY = '"yao j"[1au]'


def settings_for(server: StandinServer, folder: Path, **extra) -> Settings:
    folder.mkdir(parents=True, exist_ok=True)
    values = dict(
        db_url=f"sqlite:///{folder}/db.sqlite",
        cache_dir=folder / "cache",
        eutils_url=server.url,
        email="tests@example.org",
        max_backoff=0.05,
        read_timeout=2.0,
        max_attempts=6,
    )
    values.update(extra)
    return Settings(**values)


def outcome(settings: Settings) -> list[tuple]:
    rows = Store(settings.db_url).references(BUNDLED_COLLECTION)
    return [tuple(str(r.get(k)) for k in STABLE) for r in rows]


def stored_pmids(settings: Settings) -> set[str]:
    engine = sa.create_engine(settings.db_url)
    with engine.connect() as conn:
        pmids = {row[0] for row in conn.exec_driver_sql("SELECT pmid FROM articles")}
    engine.dispose()
    return pmids


@pytest.fixture(scope="module")
def clean(tmp_path_factory, corpus_files):
    """The bundled list linked with no faults: its references and its stored records."""
    with StandinServer(corpus_files) as server:
        settings = settings_for(server, tmp_path_factory.mktemp("clean"))
        link(None, None, settings)
        return outcome(settings), stored_pmids(settings)


# -- item 2: cache keys do not depend on who asks -----------------------------------------------
def test_cache_key_leaves_out_key_address_and_tool():
    def key(method, params, url="http://127.0.0.1:9/entrez/eutils/esearch.fcgi"):
        request = requests.Request(method, url, **({"data": params} if method == "POST"
                                                   else {"params": params})).prepare()
        return cache_key(request)

    base = {"db": "pubmed", "term": "x"}
    for method in ("GET", "POST"):
        plain = key(method, base)
        assert key(method, {**base, "email": "a@example.org"}) == plain
        assert key(method, {**base, "api_key": "K", "email": "b@example.org", "tool": "t"}) == plain
        assert key(method, {"term": "x", "db": "pubmed"}) == plain  # order does not matter
        assert key(method, {**base, "term": "y"}) != plain
    assert key("GET", base) != key("POST", base)
    with_password = "http://u:pw@127.0.0.1:9/entrez/eutils/esearch.fcgi"
    assert key("GET", base, with_password) == key("GET", base)


def test_a_cache_filled_with_one_address_serves_no_address_and_a_key(tmp_path, corpus_files,
                                                                     clean):
    with StandinServer(corpus_files) as server:
        settings = settings_for(server, tmp_path, email="first@example.org")
        link(None, None, settings)
        server.reset_log()
        offline = link(None, None, settings.with_(email=None, offline=True))
        assert offline.counts["pending"] == 0 and offline.stats.from_cache >= 3
        assert outcome(settings) == clean[0]
        with_key = link(None, None, settings.with_(email="other@example.org", api_key="KEY-1"))
        assert len(server.requests) == 0, [r.endpoint for r in server.requests]
        assert with_key.stats.sent == 0 and outcome(settings) == clean[0]


# -- item 6: an EFetch answer holds exactly what was asked for ----------------------------------
def _article_xml(pmid: str, own_id: str | None = None, title: str = "A title") -> str:
    data = ""
    if own_id is not None:
        data = (f'<PubmedData><ArticleIdList><ArticleId IdType="pubmed">{own_id}</ArticleId>'
                "</ArticleIdList><ReferenceList><Reference><ArticleIdList>"
                '<ArticleId IdType="pubmed">1</ArticleId></ArticleIdList></Reference>'
                "</ReferenceList></PubmedData>")
    return (f'<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM"><PMID Version="1">'
            f"{pmid}</PMID><Article><Journal><Title>J</Title></Journal><ArticleTitle>{title}"
            "</ArticleTitle></Article><CommentsCorrectionsList><CommentsCorrections "
            'RefType="ErratumIn"><RefSource>x</RefSource><PMID Version="1">2</PMID>'
            f"</CommentsCorrections></CommentsCorrectionsList></MedlineCitation>{data}"
            "</PubmedArticle>")


def _answer(*records: str) -> bytes:
    return ('<?xml version="1.0" ?>\n<PubmedArticleSet>' + "".join(records)
            + "</PubmedArticleSet>").encode()


def test_efetch_answer_checks_each_record_against_the_request():
    good = _answer(_article_xml("10", "10"), _article_xml("11"))
    assert [a.pmid for a in validate_efetch_answer(good, ["10", "11"]).articles] == ["10", "11"]
    assert [a.pmid for a in validate_efetch_answer(good, ["010", "11"]).articles] == ["10", "11"]
    with pytest.raises(BadAnswer, match="not asked for"):
        validate_efetch_answer(good, ["10"])
    with pytest.raises(BadAnswer, match="twice"):
        validate_efetch_answer(_answer(_article_xml("10"), _article_xml("10")), ["10"])
    with pytest.raises(BadAnswer, match="carries the ArticleId of PMID 11"):
        validate_efetch_answer(_answer(_article_xml("10", "11")), ["10", "11"])
    with pytest.raises(IncompleteAnswer) as err:
        validate_efetch_answer(good, ["10", "11", "12"])
    assert err.value.missing == {"12"} and len(err.value.value.articles) == 2


@pytest.mark.parametrize("kind", ["foreign_record", "duplicate_record", "swapped_pmids"])
def test_efetch_answers_with_records_not_asked_for_are_refused(kind, tmp_path, corpus_files,
                                                               clean):
    plan = FaultPlan(seed=3, rate=1.0, kinds=(kind,), endpoints=("efetch.fcgi",))
    with StandinServer(corpus_files, faults=plan) as server:
        settings = settings_for(server, tmp_path)
        summary = link(None, None, settings)
        assert server.faults_injected[kind] >= 1
    assert summary.stats.failures["bad_answer"] >= 1
    assert outcome(settings) == clean[0]
    assert stored_pmids(settings) == clean[1]
    for response in open_cache(settings.cache_dir).responses.values():
        if "efetch" in response.url:
            assert b"PubmedArticle" in response.content  # only the good answer was cached
            assert _efetch_ids(response) == {a.pmid for a in validate_efetch_answer(
                response.content, _efetch_ids(response)).articles}


def _efetch_ids(response) -> set[str]:
    from urllib.parse import parse_qs

    body = response.request.body
    body = body.decode() if isinstance(body, bytes) else body
    return set(parse_qs(body)["id"][0].split(","))


def test_an_answer_missing_a_record_is_retried_not_used(tmp_path, corpus_files, clean):
    plan = FaultPlan(seed=4, rate=1.0, kinds=("missing_record",), endpoints=("efetch.fcgi",),
                     max_failures_per_request=1)
    with StandinServer(corpus_files, faults=plan) as server:
        settings = settings_for(server, tmp_path)
        summary = link(None, None, settings)
        assert server.faults_injected["missing_record"] == 1
        assert len(server.requests_to("efetch.fcgi")) == 2
    assert summary.stats.failures["incomplete"] == 1
    assert outcome(settings) == clean[0]


def test_a_pmid_ncbi_does_not_have_is_absent_after_one_retry_and_cached(tmp_path, eutils):
    known = sorted(eutils.corpus.by_pmid)[:3]
    listing = tmp_path / "pmids.txt"
    listing.write_text("\n".join([*known, "99999999"]) + "\n")
    settings = settings_for(eutils, tmp_path)
    summary = link(listing, "ids", settings)
    assert len(eutils.requests_to("efetch.fcgi")) == 2  # the answer, and the retry that agrees
    assert summary.counts["matched"] == 3
    rows = {r["raw"].strip(): r for r in Store(settings.db_url).references("ids")}
    assert rows["99999999"]["status"] != "matched"
    eutils.reset_log()
    again = link(listing, "ids", settings.with_(offline=True))
    assert len(eutils.requests) == 0 and again.counts["matched"] == 3


# -- item 8: the cache cannot run code, a broken cache is one line ------------------------------
class _Payload:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def _poison(cache_dir: Path, marker: Path) -> int:
    """Replace every stored answer, in the current and the old cache file, by a pickle that
    creates `marker` when it is loaded."""
    payload = pickle.dumps(_Payload(marker))
    n = 0
    for name in (CACHE_FILE, OLD_PICKLED_CACHE):
        path = cache_dir / name
        if not path.exists():
            continue
        with sqlite3.connect(path) as conn:
            n += conn.execute("UPDATE responses SET value = ?", (payload,)).rowcount
    return n


def test_the_cache_is_json_and_a_planted_pickle_never_runs(tmp_path, corpus_files, clean):
    with StandinServer(corpus_files) as server:
        settings = settings_for(server, tmp_path)
        link(None, None, settings)
        with sqlite3.connect(settings.cache_dir / CACHE_FILE) as conn:
            values = [row[0] for row in conn.execute("SELECT value FROM responses")]
        assert len(values) >= 3
        for value in values:
            text = value.decode() if isinstance(value, bytes) else value
            assert json.loads(text)["status_code"] == 200
        # An old pickled cache beside it, and every entry of the new one overwritten.
        with sqlite3.connect(settings.cache_dir / OLD_PICKLED_CACHE) as conn:
            conn.execute("CREATE TABLE responses (key TEXT PRIMARY KEY, value BLOB, "
                         "expires INTEGER)")
            conn.execute("INSERT INTO responses VALUES ('x', NULL, NULL)")
        marker = tmp_path / "code-ran"
        assert _poison(settings.cache_dir, marker) >= 4
        server.reset_log()
        link(None, None, settings)
        assert not marker.exists()
        assert len(server.requests) >= 3  # the unreadable entries were fetched again
    assert outcome(settings) == clean[0]


def test_a_corrupt_cache_file_is_one_line_saying_to_delete_it(tmp_path, eutils):
    cache = tmp_path / "cache"
    cache.mkdir()
    for name in (CACHE_FILE, OLD_PICKLED_CACHE):
        (cache / name).write_bytes(b"this is not an SQLite database\n" * 200)
    result = CliRunner().invoke(main, ["link"])
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert "HTTP cache" in lines[0] and "delete it" in lines[0]
    assert "run link again" not in lines[0]


# -- item 9: no redirect is followed ------------------------------------------------------------
@pytest.mark.parametrize("endpoint", ["ecitmatch.cgi", "efetch.fcgi"])
def test_a_redirect_to_another_host_is_not_followed(endpoint, tmp_path, corpus_files):
    key, email = "REDIRECT-KEY-0042", "redirected.person@example.org"
    with StandinServer(corpus_files) as other:
        other_url = other.url
        plan = FaultPlan(seed=1, rate=1.0, kinds=("redirect",), endpoints=(endpoint,),
                         redirect_to=other.url, max_failures_per_request=100)
        with StandinServer(corpus_files, faults=plan) as server:
            settings = settings_for(server, tmp_path, api_key=key, email=email)
            with pytest.raises(LinkError) as err:
                link(None, None, settings)
            assert len(server.requests_to(endpoint)) == 1  # not retried either
        assert other.requests == []
    message = str(err.value)
    assert f"NCBI answered with a redirect to {other_url}{endpoint} " in message
    for secret in (key, email, quote_plus(email)):
        assert secret not in message
    assert "\n" not in message and "run link again" not in message


# -- item 10: answers are capped in size and in time --------------------------------------------
def _peak_during(call) -> tuple[int, object]:
    tracemalloc.start()
    try:
        try:
            result = call()
        except Exception as exc:  # the caller checks what was raised
            result = exc
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("kind", ["oversize", "gzip_bomb"])
def test_an_oversized_or_bombed_answer_is_cut_at_the_limit(kind, tmp_path, corpus_files):
    plan = FaultPlan(seed=1, rate=1.0, kinds=(kind,), max_failures_per_request=100,
                     oversize_bytes=60_000_000, bomb_bytes=100_000_000)
    with StandinServer(corpus_files, faults=plan) as server:
        settings = settings_for(server, tmp_path, max_answer_bytes=1_000_000)
        with EntrezClient(settings) as client:
            peak, result = _peak_during(lambda: client.esearch(QUERY))
        assert len(server.requests) == 1  # the same answer again would not be smaller
    assert isinstance(result, AnswerTooLargeError), result
    assert "over the limit of 1 MB" in str(result) and "\n" not in str(result)
    assert peak < 12_000_000, peak


def test_a_batch_too_large_for_the_limit_is_fetched_in_halves(tmp_path, corpus_files, clean):
    with StandinServer(corpus_files) as server:
        settings = settings_for(server, tmp_path, max_answer_bytes=60_000)
        link(None, None, settings)
        fetches = server.requests_to("efetch.fcgi")
        assert len(fetches) > 2
        assert all(r.status == 200 for r in fetches)
    assert outcome(settings) == clean[0]


def test_one_record_over_the_limit_is_one_line(tmp_path, eutils):
    pmid = sorted(eutils.corpus.by_pmid)[0]
    with EntrezClient(settings_for(eutils, tmp_path, max_answer_bytes=500)) as client:
        with pytest.raises(AnswerTooLargeError) as err:
            client.efetch([pmid])
    assert str(err.value).startswith("EFetch: the answer is") and "\n" not in str(err.value)


def test_a_trickled_answer_is_cut_at_the_time_limit_and_retried(tmp_path, corpus_files):
    plan = FaultPlan(seed=1, rate=1.0, kinds=("trickle",), max_failures_per_request=1,
                     trickle_interval=0.05)
    with StandinServer(corpus_files, faults=plan) as server:
        settings = settings_for(server, tmp_path, max_request_seconds=1.0, read_timeout=5.0)
        with EntrezClient(settings) as client:
            started = time.monotonic()
            count, ids = client.esearch(QUERY)
            elapsed = time.monotonic() - started
        assert server.faults_injected["trickle"] == 1 and len(server.requests) == 2
    assert count == len(ids) > 0
    assert client.stats.failures["_TooSlow"] == 1 and client.stats.retries == 1
    assert elapsed < 4.0, elapsed


# -- item 12: no secret in any log line, at any level, from any library -------------------------
def test_debug_logs_of_every_library_hold_no_secret(tmp_path, corpus_files, caplog):
    key, email, password = "APIKEY-debug-77aa", "first.last+pnet@example.org", "pa$$/wörd"
    forms = {key, email, quote_plus(email), quote(email, safe=""), password,
             quote(password, safe=""), quote_plus(password)}
    caplog.set_level(logging.DEBUG)
    plan = FaultPlan(seed=2, rate=0.5, kinds=("500", "drop", "429bare", "html200"))
    with StandinServer(corpus_files, faults=plan) as server:
        url = server.url.replace("http://", f"http://reader:{quote(password, safe='')}@")
        settings = settings_for(server, tmp_path, api_key=key, email=email, eutils_url=url)
        link(None, None, settings)
        assert {r.params.get("api_key") for r in server.requests} == {key}
    names = {r.name for r in caplog.records}
    assert {"urllib3.connectionpool", "pnet_pubmed.eutils.client"} <= names
    assert any(n.startswith("requests_cache.") for n in names), names
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        for secret in forms:
            assert secret not in text, (record.name, text)
    basic = base64.b64encode(f"reader:{password}".encode("latin-1"))  # the Authorization header
    for path in tmp_path.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert basic not in data, path
            for secret in forms:
                assert secret.encode() not in data, (path, secret)
    # An error message names the host, not the password.
    with pytest.raises(EntrezError) as err:
        with EntrezClient(settings.with_(max_attempts=1, cache_dir=tmp_path / "c2")) as client:
            client.esearch(QUERY)
    assert all(secret not in str(err.value) for secret in forms)


def test_verbose_flag_logs_requests_without_secrets(tmp_path, eutils, monkeypatch):
    key, email = "APIKEY-verbose-5150", "verbose.person@example.org"
    monkeypatch.setenv("NCBI_API_KEY", key)
    monkeypatch.setenv("NCBI_EMAIL", email)
    quiet = CliRunner().invoke(main, ["link"])
    assert quiet.exit_code == 0 and "HTTP 200" not in quiet.stderr
    one = CliRunner().invoke(main, ["-v", "link"])
    assert one.exit_code == 0, one.output
    assert "ECitMatch: GET ecitmatch.cgi: from the cache" in one.stderr
    assert "urllib3" not in one.stderr
    monkeypatch.setenv("PNET_PUBMED_CACHE", str(tmp_path / "cache-vv"))
    two = CliRunner().invoke(main, ["-vv", "link"])
    assert two.exit_code == 0, two.output
    assert "EFetch: POST efetch.fcgi: HTTP 200" in two.stderr
    assert "DEBUG urllib3.connectionpool" in two.stderr and "requests_cache" in two.stderr
    for result in (quiet, one, two):
        for secret in (key, email, quote_plus(email)):
            assert secret not in result.stderr and secret not in result.output
    assert logging.getLogger().level == logging.WARNING  # the CLI put logging back


# -- item 14: one request budget for all processes on the machine -------------------------------
def test_three_link_processes_at_once_keep_to_three_requests_a_second(tmp_path, corpus_files):
    with StandinServer(corpus_files, rate_limit=3) as server:
        procs = []
        for name in ("vancouver", "ama", "apa"):
            env = dict(os.environ)
            env.update(PNET_PUBMED_EUTILS_URL=server.url, NCBI_EMAIL="tests@example.org",
                       PNET_PUBMED_CACHE=str(tmp_path / "cache"),
                       PNET_PUBMED_DB=f"sqlite:///{tmp_path}/{name}.sqlite")
            env.pop("NCBI_API_KEY", None)
            procs.append(subprocess.Popen(
                [sys.executable, "-m", "pnet_pubmed", "link", str(STYLES / f"{name}.txt"),
                 "--batch-size", "24"],
                cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        results = [p.communicate(timeout=240) for p in procs]
        for proc, (_out, err) in zip(procs, results, strict=True):
            assert proc.returncode == 0, err
        times = sorted(r.time for r in server.requests)
        seen = [(round(r.time - times[0], 3), r.status) for r in server.requests]
        assert len(times) >= 15
        assert server.rate_limited == 0, seen
    # No four requests within one second, as the server saw them arrive.
    assert min(times[i + 3] - times[i] for i in range(len(times) - 3)) >= 0.95, seen


def test_429_without_retry_after_waits_a_second(tmp_path, corpus_files):
    plan = FaultPlan(seed=1, rate=1.0, kinds=("429bare",), max_failures_per_request=1)
    with StandinServer(corpus_files, faults=plan) as server:
        with EntrezClient(settings_for(server, tmp_path, max_backoff=10)) as client:
            client.esearch(QUERY)
        first, second = server.requests
    assert first.status == 429 and second.status == 200
    assert second.time - first.time >= 1.0


# -- item 16: an unreachable host is said so, and retries are shown -----------------------------
def test_unreachable_ncbi_says_so_and_each_retry_prints_a_line(tmp_path, corpus_files,
                                                               monkeypatch):
    with StandinServer(corpus_files) as server:
        url = server.url
    waits: list[float] = []
    monkeypatch.setattr(EntrezClient, "_sleep", staticmethod(waits.append))
    monkeypatch.setenv("PNET_PUBMED_EUTILS_URL", url)
    monkeypatch.setenv("PNET_PUBMED_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PNET_PUBMED_DB", f"sqlite:///{tmp_path}/db.sqlite")
    monkeypatch.setenv("NCBI_EMAIL", "tests@example.org")
    result = CliRunner().invoke(main, ["link"])
    assert result.exit_code == 1
    retries = [line for line in result.stderr.splitlines() if "retrying in" in line]
    assert len(retries) == 5 == len(waits)
    assert retries[0].startswith("ECitMatch: the connection was refused; retrying in")
    error = result.stderr.strip().splitlines()[-1]
    host = url.split("//")[1].split("/")[0]
    assert error.startswith(f"Error: ECitMatch: cannot reach {host}: the connection was refused")
    assert "run link again" not in error and "Traceback" not in result.output
