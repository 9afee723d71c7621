"""The public API: issue 12's example runs as written; results are typed and frozen; errors
have one root."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import textwrap

import pytest

import pnet_pubmed
from pnet_pubmed.errors import InputError, PnetPubmedError

YAO = ("Yao JC, Shah MH, Ito T, et al. Everolimus for advanced pancreatic neuroendocrine "
       "tumors. N Engl J Med. 2011;364(6):514-23.")


def test_the_readme_example_runs_as_written(eutils, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    result = pnet_pubmed.link([YAO], collection="notebook", db="sqlite:///refs.sqlite")
    for ref in result.references:          # key, status, pmid, method, score, reason, notes
        print(ref.key, ref.status, ref.pmid)

    for hit in pnet_pubmed.search("everolimus", db="sqlite:///refs.sqlite",
                                  mesh="Pancreatic Neoplasms", limit=5):
        print(hit.pmid, hit.year, hit.title, hit.score)

    article = pnet_pubmed.article("21306238", db="sqlite:///refs.sqlite")
    print(article.abstract, [m.descriptor for m in article.mesh if m.major],
          article.publication_types)

    out = capsys.readouterr().out.splitlines()
    assert out[0] == "1 matched 21306238"
    # The stand-in's record of this trial has no MeSH, so the MeSH-filtered search is empty;
    # without the filter the search finds it.
    assert out[1].startswith("(AbstractSection(text='Background: Everolimus")
    (hit,) = pnet_pubmed.search("everolimus", db="sqlite:///refs.sqlite", limit=5)
    assert (hit.pmid, hit.year) == ("21306238", 2011) and hit.title.startswith("Everolimus")
    assert (tmp_path / "refs.sqlite").exists()
    assert result.counts["matched"] == 1 and result.requests_sent <= 3


def test_results_are_frozen_and_typed(eutils, tmp_path):
    db = f"sqlite:///{tmp_path}/r.sqlite"
    result = pnet_pubmed.link([YAO, "not a reference at all"], collection="c", db=db)
    ref = result.references[0]
    assert isinstance(ref, pnet_pubmed.Reference) and isinstance(ref.notes, tuple)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.status = "x"  # type: ignore[misc]
    assert result.references[1].status == "not_found"
    assert pnet_pubmed.refs("c", db=db) == result.references
    (collection,) = pnet_pubmed.collections(db=db)
    assert collection.name == "c" and collection.counts["matched"] == 1
    assert "Everolimus" in pnet_pubmed.export("c", db=db, format="ris")


def test_a_file_path_links_like_the_cli(eutils, tmp_path):
    path = tmp_path / "list.txt"
    path.write_text(f"1. {YAO}\n", encoding="utf-8")
    db = f"sqlite:///{tmp_path}/r.sqlite"
    for source in (path, str(path)):
        result = pnet_pubmed.link(source, db=db)
        assert result.collection == "list" and result.references[0].pmid == "21306238"


def test_errors_have_one_root(eutils, tmp_path):
    db = f"sqlite:///{tmp_path}/r.sqlite"
    with pytest.raises(InputError, match="no such file"):
        pnet_pubmed.link("Yao JC. A reference string, not a file", db=db)
    with pytest.raises(PnetPubmedError, match="not a PMID"):
        pnet_pubmed.article("abc", db=db)
    with pytest.raises(PnetPubmedError, match="db upgrade"):
        pnet_pubmed.refs("nosuch", db=db)  # no database yet
    pnet_pubmed.link([YAO], collection="c", db=db)
    with pytest.raises(PnetPubmedError, match="no collection named 'nosuch'"):
        pnet_pubmed.refs("nosuch", db=db)
    with pytest.raises(PnetPubmedError):
        pnet_pubmed.link([b"bytes are not a reference"], db=db)  # type: ignore[list-item]
    with pytest.raises(TypeError, match="unknown setting 'colour'"):
        pnet_pubmed.link([YAO], db=db, colour="red")


def test_settings_come_from_keywords_over_the_environment(eutils, tmp_path):
    s = pnet_pubmed.settings(db="sqlite:///x.sqlite", cache=tmp_path / "c", offline=True)
    assert s.db_url == "sqlite:///x.sqlite" and s.offline and s.cache_dir == tmp_path / "c"
    assert s.eutils_url == eutils.url  # from PNET_PUBMED_EUTILS_URL


def test_progress_is_reported(eutils, tmp_path):
    seen = []
    pnet_pubmed.link([YAO], db=f"sqlite:///{tmp_path}/r.sqlite",
                     progress=lambda stage, n: seen.append((stage, n)))
    assert ("start", 1) in seen and any(stage == "batch" for stage, _ in seen)


def test_importing_the_package_loads_no_heavy_stack():
    code = textwrap.dedent("""
        import sys, pnet_pubmed
        pnet_pubmed.Settings, pnet_pubmed.PnetPubmedError, pnet_pubmed.Article
        heavy = [m for m in ("requests", "sqlalchemy", "lxml", "matplotlib", "Bio")
                 if m in sys.modules]
        print(",".join(heavy))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == ""
    assert set(pnet_pubmed.__all__) >= {"link", "search", "article", "PnetPubmedError"}
