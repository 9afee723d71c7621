"""Read commands on the light connection (issue 12): refs, show, collections, sql, search and mesh
import nothing heavy on either backend; what the light path reads is what the Store wrote; the
CLI has one error path; no module imports another in a circle."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import pnet_pubmed
from pnet_pubmed.cli import main
from pnet_pubmed.cli.errors import Command, Group
from pnet_pubmed.flags import Flag
from pnet_pubmed.search.index import SearchIndex
from pnet_pubmed.sqlquery import ReadOnlyError, run_query
from pnet_pubmed.store import Store, readonly
from pnet_pubmed.values import Citation, CommentCorrection, Match
from tests.linked_db import COLLECTION
from tests.test_store import rich_article

PACKAGE = Path(pnet_pubmed.__file__).parent
# What a command that only reads must not import: the database toolkit and migrations, the
# HTTP stack, XML and plotting, and the reference-list parser.
HEAVY = ("sqlalchemy", "alembic", "requests", "requests_cache", "lxml", "matplotlib", "Bio",
         "pnet_pubmed.references", "pnet_pubmed.eutils", "pnet_pubmed.pipeline")


def _run_loading(url: str, *args: str) -> tuple[str, list[str]]:
    """A command's output, and the heavy modules it imported, as `python -X importtime -m
    pnet_pubmed.cli` shows them."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "pnet_pubmed.cli",
                           "--db", url, *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines()
                if line.startswith("import time:") and line.count("|") == 2}
    assert "pnet_pubmed.cli.app" in imported
    heavy = [m for m in HEAVY if m in imported or any(i.startswith(m + ".") for i in imported)]
    return proc.stdout, heavy


@pytest.mark.parametrize("args", [
    ("refs",),
    ("refs", "-c", COLLECTION, "--status", "matched", "--format", "jsonl"),
    ("refs", "--format", "csv"),
    ("show", "{pmid}"),
    ("show", "{pmid}", "--format", "json"),
    ("collections",),
    ("collections", "--format", "json"),
    ("sql", "SELECT status, count(*) AS n FROM reference_links GROUP BY status"),
    ("sql", "SELECT pmid FROM articles", "--format", "csv"),
    ("search", "everolimus", "--collection", COLLECTION),
    ("mesh", "--collection", COLLECTION),
])
def test_read_commands_import_nothing_heavy(linked_url, args):
    pmid = next(r.pmid for r in pnet_pubmed.refs(db=linked_url) if r.pmid)
    shown, loaded = _run_loading(linked_url, *(a.format(pmid=pmid) for a in args))
    assert loaded == []
    assert shown.strip()  # and it did answer


def test_the_light_path_reads_what_the_store_wrote(db_url):
    retracted = rich_article("99000101", comments_corrections=(
        CommentCorrection("RetractionIn", "99000102", "J Clin Oncol. 2016;34(7):771"),))
    bare = rich_article("99000201", abstract=(), authors=(), mesh=(), keywords=(), chemicals=(),
                        languages=(), publication_types=(), comments_corrections=(),
                        is_book=True)
    with Store(db_url, index=SearchIndex()) as store:
        store.upgrade()
        store.save_articles([rich_article(), retracted, bare])
        store.save_citations("c", [Citation("1", "one", 1), Citation("2", "two", 2),
                                   Citation("3", "three", 3)])
        store.save_matches("c", [
            Match("1", "matched", "99000101", method="esearch", score=0.75,
                  notes=("year 2004 in the reference, 2005 in the record",)),
            Match("2", "ambiguous", candidates=("21306238", "99000201"), reason="two fit"),
        ])
        stored = store.references("c")
    # Records: every field, the MeSH surrogates, booleans and JSON lists, as saved.
    for article in (rich_article(), retracted, bare):
        assert pnet_pubmed.article(article.pmid, db=db_url) == article
    assert pnet_pubmed.article("0" + rich_article().pmid, db=db_url) == rich_article()
    assert pnet_pubmed.article("1", db=db_url) is None
    refs = pnet_pubmed.refs("c", db=db_url)
    assert [(r.key, r.status, r.pmid, r.score, r.notes, r.candidates, r.reason) for r in refs] == [
        ("1", "matched", "99000101", 0.75, ("year 2004 in the reference, 2005 in the record",),
         (), None),
        ("2", "ambiguous", None, None, (), ("21306238", "99000201"), "two fit"),
        ("3", "pending", None, None, (), (), None),
    ]
    assert refs[0].flags == (Flag("retracted", "99000102", "J Clin Oncol. 2016;34(7):771"),)
    assert [(r["key"], r["notes"], r["candidates"]) for r in stored] == [
        (r.key, list(r.notes), list(r.candidates)) for r in refs]
    (collection,) = pnet_pubmed.collections(db=db_url)
    assert (collection.name, collection.references) == ("c", 3)
    assert dict(collection.counts) == {"matched": 1, "ambiguous": 1, "not_found": 0,
                                       "pending": 1}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", collection.last_run or "")


def test_sql_reads_on_the_light_connection(linked_url):
    result = run_query(linked_url, "SELECT count(*) AS n FROM refs WHERE status = 'matched'")
    assert result.rows == [(65,)]
    with pytest.raises(ReadOnlyError):
        run_query(linked_url, "DELETE FROM refs")
    if linked_url.startswith("postgresql"):
        assert run_query(linked_url, "SELECT current_user").rows == [(readonly.ROLE,)]
    assert run_query(linked_url, "SELECT count(*) FROM refs").rows == [(72,)]


def test_a_database_not_set_up_has_no_collections_and_is_not_created(tmp_path):
    missing = tmp_path / "none.sqlite"
    assert pnet_pubmed.collections(db=f"sqlite:///{missing}") == ()
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{missing}", "refs"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: database sqlite:///{missing}: no such file (run `pnet-pubmed db upgrade` or "
        "`pnet-pubmed link` to create it)"]
    assert not missing.exists()


# -- the one error path ------------------------------------------------------------------------


def _commands(group: click.Group, prefix: str = ""):
    for name, command in group.commands.items():
        yield prefix + name, command
        if isinstance(command, click.Group):
            yield from _commands(command, f"{prefix}{name} ")


def test_every_command_takes_the_one_error_path():
    found = dict(_commands(main))
    assert {"link", "refs", "show", "collections", "collections delete", "search", "mesh",
            "export", "report", "sql", "refresh", "db upgrade", "mirror load",
            "mirror status"} <= set(found)
    assert isinstance(main, Group)
    for path, command in found.items():
        assert isinstance(command, Group if isinstance(command, click.Group) else Command), path


def test_a_bug_is_one_line_and_exit_70_with_the_traceback_under_vv(tmp_path):
    code = textwrap.dedent("""
        import pnet_pubmed.api
        def broken(*args, **kwargs):
            raise RuntimeError("boom\\nsecond line")
        pnet_pubmed.api.refs = broken
        from pnet_pubmed.cli import main
        main(sys.argv[1:])
    """)
    for flags in ((), ("-vv",)):
        proc = subprocess.run([sys.executable, "-c", "import sys\n" + code, *flags,
                               "--db", f"sqlite:///{tmp_path / 'x.sqlite'}", "refs"],
                              capture_output=True, text=True)
        assert proc.returncode == 70
        last = proc.stderr.strip().splitlines()[-1]
        assert last == ("Error: internal error (RuntimeError: boom); this is a bug in "
                        "pnet-pubmed: run with -vv to see the traceback, and please report it")
        assert ("Traceback" in proc.stderr) == bool(flags)


def test_known_failures_are_one_line_with_exit_1(linked_url):
    for args, message in [
        (("refs", "-c", "nosuch"), "Error: no collection named 'nosuch' (collections: "
                                   f"{COLLECTION})"),
        (("collections", "delete", "nosuch", "-y"), "Error: no collection named 'nosuch' "
                                                     f"(collections: {COLLECTION})"),
        (("show", "12x"), "Error: '12x' is not a PMID (a PMID is a number of at most 9 digits, "
                          "e.g. 21306238)"),
        (("sql", "SELECT * FROM nowhere"), None),
    ]:
        result = CliRunner().invoke(main, ["--db", linked_url, *args])
        assert result.exit_code == 1, result.output
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: ")
        if message:
            assert lines[0] == message


def test_output_formats_agree(linked_url):
    rows = json.loads(CliRunner().invoke(main, ["--db", linked_url, "collections", "--format",
                                                "json"]).output)
    table = CliRunner().invoke(main, ["--db", linked_url, "collections"]).output.splitlines()
    assert [r["collection"] for r in rows] == [COLLECTION]
    assert table[2].split()[:2] == [COLLECTION, str(rows[0]["references"])]
    assert rows[0]["last_run"][:16].replace("T", " ") in table[2]


# -- no import cycle ---------------------------------------------------------------------------


def _module_imports() -> dict[str, set[str]]:
    """Each module of the package and the package modules it imports when it is loaded (not
    inside functions, not under TYPE_CHECKING)."""
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        modules[name] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
        found = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*up, *([node.module] if node.module else [])])
                for alias in node.names:
                    found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules
                              else base)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def test_no_module_imports_another_in_a_circle():
    graph = _module_imports()
    assert {"pnet_pubmed.cli.app", "pnet_pubmed.cli.output", "pnet_pubmed.store.reads"} <= set(
        graph)
    done: set[str] = set()

    def visit(name: str, trail: tuple[str, ...]) -> None:
        if name in trail:
            raise AssertionError("import cycle: " + " -> ".join((*trail, name)))
        if name in done:
            return
        for imported in sorted(graph[name]):
            visit(imported, (*trail, name))
        done.add(name)

    for name in sorted(graph):
        visit(name, ())
