"""The parse cache: a rerun of the same list reads no reference again, sends no request, and a
cache file that someone changed is never trusted."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

import pnet_pubmed
from pnet_pubmed.config import Settings
from pnet_pubmed.journals import Journals
from pnet_pubmed.pipeline import bundled_list, link
from pnet_pubmed.references import cache, references_from_bytes
from pnet_pubmed.references.freetext import fields
from pnet_pubmed.store import Store


def _count_parses(monkeypatch) -> list[int]:
    calls = [0]
    real = fields.parse_reference

    def counting(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(fields, "parse_reference", counting)
    return calls


def test_a_rerun_reads_nothing_again_and_asks_nothing(eutils, monkeypatch):
    settings = Settings.from_env()
    first = link(None, None, settings)
    rows = Store(settings.db_url).references(first.collection)
    calls = _count_parses(monkeypatch)
    second = link(None, None, settings)
    assert calls[0] == 0  # the list came from the parse cache
    assert second.stats.sent == 0  # and every answer from the HTTP cache
    assert Store(settings.db_url).references(first.collection) == rows


def _with(items: list, field: str, value: object) -> list:
    """The cache file's citations with one field of the first changed (a citation is a list
    of cache._FIELDS)."""
    first = list(items[0])
    first[cache._FIELDS.index(field)] = value
    return [first, *items[1:]]


@pytest.mark.parametrize("tamper", [
    lambda items: _with(items, "year", "2011; DROP TABLE refs"),
    lambda items: _with(items, "authors", [["x"]]),
    lambda items: _with(items, "authors", ["Yao"]),
    lambda items: _with(items, "kind", "evil"),
    lambda items: _with(items, "position", True),
    lambda items: _with(items, "title", {"a": 1}),
    lambda items: [items[0][:-1]] + items[1:],
    lambda items: {"not": "a list"},
    lambda items: [],
], ids=["year", "authors", "half-a-name", "kind", "position", "title", "short", "object",
        "empty"])
def test_a_tampered_cache_file_is_ignored(tmp_path, tamper):
    data = bundled_list().read_bytes()
    parsed = references_from_bytes(data, "list")
    cache.save(tmp_path, data, parsed)
    assert cache.load(tmp_path, data) == parsed
    (path,) = (tmp_path / cache.FOLDER).glob("*.json.gz")
    items = json.loads(gzip.decompress(path.read_bytes()))
    path.write_bytes(gzip.compress(json.dumps(tamper(items)).encode()))
    assert cache.load(tmp_path, data) is None


def test_garbage_and_oversized_cache_files_are_ignored(tmp_path, monkeypatch):
    data = b"1. Yao JC. Title of a reference here. N Engl J Med. 2011;364:514-23.\n"
    cache.save(tmp_path, data, references_from_bytes(data, "list"))
    (path,) = (tmp_path / cache.FOLDER).glob("*.json.gz")
    path.write_bytes(b"\x1f\x8b not gzip")
    assert cache.load(tmp_path, data) is None
    cache.save(tmp_path, data, references_from_bytes(data, "list"))
    monkeypatch.setattr(cache, "MAX_FILE_BYTES", 10)
    assert cache.load(tmp_path, data) is None


def test_another_list_or_parser_is_another_key(tmp_path, monkeypatch):
    data = bundled_list().read_bytes()
    cache.save(tmp_path, data, references_from_bytes(data, "list"))
    assert cache.load(tmp_path, data + b"\n") is None
    monkeypatch.setattr(cache, "parser_version", lambda: "another parser")
    assert cache.load(tmp_path, data) is None


def test_journals_a_run_has_learned_are_another_key(tmp_path):
    data = bundled_list().read_bytes()
    cache.save(tmp_path, data, references_from_bytes(data, "list"))
    learned = Journals()
    learned.learn("Quarterly Review of Imaginary Studies", None, "Q Rev Imag Stud")
    assert cache.load(tmp_path, data, learned) is None
    assert cache.load(tmp_path, data, Journals()) is not None  # nothing learned: the same key


def test_the_parser_hash_covers_every_reader_module():
    """A reader module left out of the hash would let the cache serve parses of old code."""
    package = Path(pnet_pubmed.__file__).parent
    modules = {str(p.relative_to(package)) for p in (package / "references").rglob("*.py")}
    assert modules and modules <= set(cache.parser_files())
    assert {"journals.py", "data/reference_crf.model", "data/journal_index.tsv.gz"} <= set(
        cache.parser_files())


def _everything(c) -> tuple:
    """Every field of a Citation, the reader and the alternative readings included (== leaves
    those two out)."""
    import dataclasses

    return (dataclasses.astuple(dataclasses.replace(c, alternatives=())), c.reader,
            tuple(_everything(a) for a in c.alternatives))


def test_every_field_of_every_reading_comes_back(tmp_path):
    # BMC's "Authors: Title. Journal Year, Volume(Issue):Pages." is read best by the labeller.
    data = (Path(__file__).parent / "fixtures" / "styles" / "harvard.txt").read_bytes() + (
        b"\n\n1. Reuler JB, Broudy VC, Cooney TG: Adult scurvy. JAMA 1985, 253(6):805-807.\n"
        b"2. Finkel T, Holbrook NJ: Oxidants, oxidative stress and the biology of ageing. "
        b"Nature 2000, 408(6809):239-247.\n")
    parsed = references_from_bytes(data, "list")
    assert any(c.alternatives for c in parsed) and any(c.reader == "labeller" for c in parsed)
    assert any(a.raw == c.raw for c in parsed for a in c.alternatives)
    cache.save(tmp_path, data, parsed)
    assert [_everything(c) for c in cache.load(tmp_path, data)] == [
        _everything(c) for c in parsed]
