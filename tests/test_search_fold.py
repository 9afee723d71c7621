"""One text fold: search finds "Søreide" as "Soreide" and "Straße" as "strasse", as the matcher
treats them as equal; through the CLI on SQLite and PostgreSQL, and after an upgrade."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from pnet_pubmed.cli import main
from pnet_pubmed.search import tokens
from pnet_pubmed.search.index import SearchIndex
from pnet_pubmed.store import Store
from pnet_pubmed.text import strip_diacritics
from pnet_pubmed.values import AbstractSection, Article, Author

from .test_search import _new_db, fresh  # noqa: F401  (fixtures)

# Written after real records of Scandinavian, German and Polish authors.
NORDIC = Article(
    pmid="99990001",
    title="Surgical treatment of pancreatic neuroendocrine tumours in Bergen.",
    abstract=(AbstractSection("Patients were treated at Haukeland, Ærø and Łódź between 2005 "
                              "and 2015; one was referred from the Lindenstraße clinic."),),
    authors=(Author(last_name="Søreide", fore_name="Jon Arne", initials="JA"),
             Author(last_name="Łukasiewicz", fore_name="Łucja", initials="Ł"),
             Author(last_name="Groß", fore_name="Ævar", initials="Æ")),
    journal_title="Scandinavian journal of gastroenterology",
    medline_ta="Scand J Gastroenterol", year=2016,
)
PLAIN = Article(
    pmid="99990002",
    title="Strasse, Soreide and Aero: the same words spelt in ASCII.",
    authors=(Author(last_name="Soreide", initials="K"),),
    year=2017,
)


def url_of(store: Store) -> str:
    return store._url.render_as_string(hide_password=False)


def found(url: str, *args: str) -> list[str]:
    result = CliRunner().invoke(main, ["--db", url, "search", *args, "--format", "json"],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return sorted(h["pmid"] for h in json.loads(result.stdout))


def test_the_fold_is_the_matchers():
    for text in ("Søreide", "Straße", "Ærø", "Łódź", "Œuvre", "Öberg", "Kylänpää"):
        assert tokens(text) == tokens(strip_diacritics(text)), text
    assert tokens("Søreide Straße Ærø Łódź") == ["soreide", "strasse", "aero", "lodz"]


def test_search_finds_either_spelling(fresh):  # noqa: F811
    fresh.save_articles([NORDIC, PLAIN])
    url = url_of(fresh)
    both = ["99990001", "99990002"]
    assert found(url, "--author", "Soreide") == found(url, "--author", "Søreide") == both
    assert found(url, "--author", "Soreide JA") == found(url, "Søreide JA[au]") == ["99990001"]
    assert found(url, "--author", "Gross") == found(url, "--author", "GROSS AE") == ["99990001"]
    assert found(url, "Lukasiewicz[1au]") == []  # the second author, not the first
    assert found(url, "Lukasiewicz[au]") == ["99990001"]
    assert found(url, "lindenstrasse") == found(url, "Lindenstraße") == ["99990001"]
    assert found(url, "aero") == found(url, "Ærø") == both
    assert found(url, "strasse") == found(url, "STRASSE") == ["99990002"]
    assert found(url, "lodz") == ["99990001"]
    # The snippet marks the word as printed.
    hits = CliRunner().invoke(main, ["--db", url, "search", "lindenstrasse"]).stdout
    assert "[Lindenstraße]" in hits


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_upgrade_indexes_older_databases_with_the_fold(backend, tmp_path, request):
    from alembic import command

    url, drop = _new_db(backend, tmp_path, request)
    try:
        store = Store(url)  # a database of the revision before: no index rows of the new fold
        cfg = store._alembic_config()
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "0006_mirror")
        store.save_articles([NORDIC])
        store.close()
        upgraded = Store(url, index=SearchIndex())
        upgraded.upgrade()  # revision 0008 indexes every stored article again
        assert found(url, "--author", "Soreide") == found(url, "lindenstrasse") == ["99990001"]
        upgraded.close()
    finally:
        drop()


def test_the_fold_is_final_on_every_character():
    """Folding a folded text changes nothing: "ǣ" (æ and a macron), "ᴬ" (a capital under NFKD)
    and the sigmas fold all the way at once."""
    from pnet_pubmed.search.tokens import fold

    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    for start in range(0, len(every), 4096):
        text = every[start:start + 4096]
        once = fold(text)
        assert fold(once) == once, hex(ord(text[0]))
    assert fold("Ǣ ᴬ ΟΔΟΣ") == "ae a οδοσ"
