"""`pnet-pubmed mirror load` and `mirror status` through the CLI, on SQLite and PostgreSQL.

The files are written in NLM's format from the corpus records (tests/baseline_files.py): two
baseline files, NLM-style update files with revised records, a record in two files, a
DeleteCitation list, and broken files (bad MD5, truncated .gz, broken XML).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from pnet_pubmed.cli import main
from pnet_pubmed.mirror.rows import Chunk, add_article
from pnet_pubmed.pubmed import parse_articles, parse_records
from pnet_pubmed.store import Store
from pnet_pubmed.store import schema as t
from pnet_pubmed.store.rows import article_rows
from tests.baseline_files import (
    HEAD,
    TAIL,
    article_xml,
    corpus_records,
    pmid_of,
    truncate,
    with_pmid,
    with_revision,
    write_file,
)

UPDATE_FILE = Path(__file__).parent / "fixtures" / "corpus" / "modelled" / "update-file.xml"
RECORDS = corpus_records()
BY_PMID = dict(RECORDS)
SPLIT = 150


def run(db_url: str, *args: str, ok: bool = True):
    result = CliRunner().invoke(main, ["--db", db_url, *args], catch_exceptions=False)
    if ok:
        assert result.exit_code == 0, result.output
    return result


def baseline(folder: Path) -> list[Path]:
    """Two baseline files holding every corpus record once."""
    return [write_file(folder / "pubmed25n0001.xml.gz", [r for _, r in RECORDS[:SPLIT]]),
            write_file(folder / "pubmed25n0002.xml.gz", [r for _, r in RECORDS[SPLIT:]])]


def mirror_rows(db_url: str) -> dict[str, tuple]:
    store = Store(db_url)
    m, f, a = t.mirror_records.c, t.mirror_files.c, t.articles.c
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(m.pmid, a.date_revised, f.name)
                            .join_from(t.mirror_records, t.mirror_files, f.id == m.file_id)
                            .join(t.articles, a.pmid == m.pmid))
        out = {r.pmid: (r.date_revised, r.name) for r in rows}
    store.close()
    return out


def count(db_url: str, table: sa.Table) -> int:
    store = Store(db_url)
    with store.engine.connect() as conn:
        n = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    store.close()
    return n


def status(db_url: str) -> dict:
    return json.loads(run(db_url, "mirror", "status", "--format", "json").output)


# -- the rows -------------------------------------------------------------------------------------


def test_bulk_rows_are_the_rows_the_store_writes():
    """The mirror's tuples hold exactly what store/rows.py gives Store.save_articles."""
    articles = parse_articles(HEAD + b"\n".join(r for _, r in RECORDS) + TAIL)
    chunk = Chunk()
    when = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    for a in articles:
        add_article(chunk, a, when)
    expected = article_rows(articles, when)
    for table, rows in chunk.rows.items():
        want = [tuple(d.values()) for d in getattr(expected, table)]
        if table == "articles":
            want = [(*w[:19], json.dumps(w[19]), *w[20:]) for w in want]
        assert rows == want, table
    assert chunk.descriptors == expected.mesh_descriptors
    assert chunk.qualifiers == expected.mesh_qualifiers


def test_article_xml_reads_back_as_the_same_article():
    articles = [a for a in parse_articles(HEAD + b"\n".join(r for _, r in RECORDS) + TAIL)
                if not a.is_book]
    again = parse_articles(HEAD + b"\n".join(article_xml(a) for a in articles) + TAIL)
    assert again == articles


# -- loading --------------------------------------------------------------------------------------


def test_load_stores_every_record_as_parsed_and_indexes_it(db_url, tmp_path):
    files = baseline(tmp_path / "nlm")
    result = run(db_url, "mirror", "load", "--jobs", "0", str(tmp_path / "nlm"))
    assert "pubmed25n0001.xml.gz  loaded   150 records" in result.output
    assert f"pubmed25n0002.xml.gz  loaded   {len(RECORDS) - SPLIT} records" in result.output
    assert "records/s" in result.output
    expected = [a for f in files for a in parse_records(f).articles]
    store = Store(db_url)
    assert store.articles([a.pmid for a in expected]) == expected
    store.close()
    assert set(mirror_rows(db_url)) == {p for p, _ in RECORDS}
    # The search index follows: a word of a mirror record's title finds it.
    hits = json.loads(run(db_url, "search", "everolimus", "--format", "json",
                          "--limit", "50").output)
    titles = {a.pmid for a in expected if "everolimus" in a.title.lower()}
    assert titles and titles <= {h["pmid"] for h in hits}
    data = status(db_url)
    assert data["records"] == len(RECORDS)
    assert data["loaded"] == 2 and data["newest_file"] == "pubmed25n0002.xml.gz"
    text = run(db_url, "mirror", "status").output
    assert f"{len(RECORDS)} records from 2 files; newest file: pubmed25n0002.xml.gz" in text


def test_reader_processes_load_the_same_as_in_process(tmp_path):
    folder = tmp_path / "nlm"
    baseline(folder)
    write_file(folder / "pubmed25n0003.xml", [with_revision(RECORDS[0][1], "2030-01-01")],
               deletions=[RECORDS[1][0]])
    urls = [f"sqlite:///{tmp_path / name}.sqlite" for name in ("inline", "one", "three")]
    for url, jobs in zip(urls, ("0", "1", "3"), strict=True):
        run(url, "mirror", "load", "--jobs", jobs, str(folder))
    stores = [Store(u) for u in urls]
    pmids = [p for p, _ in RECORDS]
    first = stores[0].articles(pmids)
    assert len(first) == len(RECORDS) - 1
    for other in stores[1:]:
        assert other.articles(pmids) == first
    assert mirror_rows(urls[0]) == mirror_rows(urls[1]) == mirror_rows(urls[2])


def test_files_already_loaded_are_skipped_and_changed_ones_reloaded(db_url, tmp_path):
    files = baseline(tmp_path / "nlm")
    run(db_url, "mirror", "load", "--jobs", "0", str(tmp_path / "nlm"))
    again = run(db_url, "mirror", "load", "--jobs", "0", *map(str, files))
    assert again.output.count("skipped  already loaded") == 2
    # Without its .md5 file, the file's own MD5 says it is the same file.
    files[0].with_name(files[0].name + ".md5").unlink()
    assert "skipped" in run(db_url, "mirror", "load", "--jobs", "0", str(files[0])).output
    # A file with other contents under the same name is loaded again.
    write_file(files[0], [with_revision(r, "2031-02-03") for _, r in RECORDS[:SPLIT]])
    result = run(db_url, "mirror", "load", "--jobs", "0", str(files[0]))
    assert "pubmed25n0001.xml.gz  loaded   150 records" in result.output
    revised = mirror_rows(db_url)
    assert {revised[p][0] for p, _ in RECORDS[:SPLIT]} == {"2031-02-03"}


def test_updates_replace_older_versions_and_delete_records(db_url, tmp_path):
    folder = tmp_path / "nlm"
    baseline(folder)
    # NLM's update file in miniature: new records, a revised 23985001, two deletions.
    shutil.copy(UPDATE_FILE, folder / "pubmed25n0003.xml")
    dated = [p for p, r in RECORDS if b"<DateRevised>" in r and p != "23985001"]
    revised_pmid, twice_pmid, older_pmid = RECORDS[5][0], dated[-1], dated[0]
    write_file(folder / "pubmed25n0004.xml.gz", [
        # A revised record: newer DateRevised, a corrected title.
        with_revision(BY_PMID[revised_pmid], "2030-05-06", title="A corrected title."),
        # A record in two files, the same version: the later file holds it now.
        BY_PMID[twice_pmid],
        # An older version than the one stored: it does not replace it.
        with_revision(BY_PMID[older_pmid], "1999-01-01", title="An outdated title."),
    ])
    result = run(db_url, "mirror", "load", "--jobs", "0", str(folder))
    # 99000199 of its DeleteCitation list is not stored: only 10440612 is deleted.
    assert "pubmed25n0003.xml  loaded   5 records (1 deleted)" in result.output
    assert "pubmed25n0004.xml.gz  loaded   2 records (1 superseded)" in result.output

    store = Store(db_url)
    update = parse_records(UPDATE_FILE)
    assert store.article("10440612") is None  # deleted by the update file
    assert store.article("23985001") == next(a for a in update.articles
                                             if a.pmid == "23985001")
    assert store.article(revised_pmid).title == "A corrected title."
    assert store.article(older_pmid).title != "An outdated title."
    store.close()
    rows = mirror_rows(db_url)
    assert rows[revised_pmid] == ("2030-05-06", "pubmed25n0004.xml.gz")
    assert rows[twice_pmid][1] == "pubmed25n0004.xml.gz"
    assert rows[older_pmid][1] == "pubmed25n0001.xml.gz"
    assert "10440612" not in rows
    # Every record once: the corpus, the update file's new ones, less the deleted one.
    expected = len(RECORDS) + len({a.pmid for a in update.articles} - set(BY_PMID)) - 1
    assert count(db_url, t.articles) == count(db_url, t.mirror_records) == expected
    # The deleted record's words no longer find it.
    hits = json.loads(run(db_url, "search", "--format", "json", "--limit", "1000",
                          "--author", "Grieco").output)
    assert "10440612" not in {h["pmid"] for h in hits}
    # The corrected title is what search sees.
    hits = json.loads(run(db_url, "search", '"a corrected title"', "--format", "json").output)
    assert [h["pmid"] for h in hits] == [revised_pmid]


def test_a_file_loaded_out_of_order_does_not_undo_later_ones(db_url, tmp_path):
    folder = tmp_path / "nlm"
    files = baseline(folder)
    newer, gone = RECORDS[3][0], RECORDS[4][0]
    update = write_file(folder / "pubmed25n0009.xml.gz",
                        [with_revision(BY_PMID[newer], "2030-01-01", title="Newest title.")],
                        deletions=[gone])
    run(db_url, "mirror", "load", "--jobs", "0", str(update))
    run(db_url, "mirror", "load", "--jobs", "0", *map(str, files))
    store = Store(db_url)
    assert store.article(newer).title == "Newest title."
    assert store.article(gone) is None  # the older baseline file cannot bring it back
    store.close()


def test_a_record_deleted_by_nlm_stays_while_a_reference_links_to_it(eutils, tmp_path):
    db_url = os.environ["PNET_PUBMED_DB"]
    folder = tmp_path / "nlm"
    baseline(folder)
    run(db_url, "mirror", "load", "--jobs", "0", str(folder))
    run(db_url, "link", "--source", "mirror")
    refs = [json.loads(line) for line in run(db_url, "refs", "--format", "jsonl")
            .output.splitlines()]
    cited = {r["pmid"] for r in refs if r["status"] == "matched"}
    linked = min(cited)
    unlinked = next(p for p, _ in RECORDS if p not in cited)
    write_file(folder / "pubmed25n0003.xml.gz", [], deletions=[linked, unlinked])
    result = run(db_url, "mirror", "load", "--jobs", "0", str(folder))
    assert ("0 records (1 deleted, 1 deleted by NLM but kept (linked by a reference))"
            in result.output)
    store = Store(db_url)
    assert store.article(linked) is not None and store.article(unlinked) is None
    assert linked not in mirror_rows(db_url)
    store.close()


# -- broken files ---------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["md5", "truncated", "xml"])
def test_a_corrupt_file_is_named_and_the_others_load(db_url, tmp_path, damage):
    folder = tmp_path / "nlm"
    first, second = baseline(folder)
    bad_records = [with_pmid(r, str(70_000_000 + i)) for i, (_, r) in enumerate(RECORDS[:40])]
    bad = write_file(folder / "pubmed25n0003.xml.gz", bad_records)
    last = write_file(folder / "pubmed25n0004.xml.gz",
                      [with_pmid(RECORDS[0][1], "71000000")])
    if damage == "md5":
        bad.with_name(bad.name + ".md5").write_text(f"MD5({bad.name})= {'0' * 32}\n")
        reason = "corrupt: its MD5 is"
    elif damage == "truncated":
        truncate(bad, 0.5)
        reason = "truncated gzip data"
    else:
        with gzip.open(bad, "wb") as f:
            f.write(HEAD + b"\n".join(bad_records[:30]) + b"<PubmedArticle><Medline")
            f.write(b"</PubmedArticle>" + TAIL)
        bad.with_name(bad.name + ".md5").unlink()
        reason = "malformed XML"
    result = run(db_url, "mirror", "load", "--jobs", "0", str(folder), ok=False)
    assert result.exit_code == 1
    failed = [line for line in result.output.splitlines() if "failed " in line]
    assert len(failed) == 1 and failed[0].startswith("pubmed25n0003.xml.gz  failed")
    assert reason in failed[0]
    assert "1 file(s) not loaded: pubmed25n0003.xml.gz" in result.output
    rows = mirror_rows(db_url)
    assert "71000000" in rows and len(rows) == len(RECORDS) + 1
    assert not any(p.startswith("700000") for p in rows)  # nothing of the broken file
    data = status(db_url)
    assert [f["status"] for f in data["files"]] == ["loaded", "loaded", "failed", "loaded"]
    assert reason in data["files"][2]["message"]
    # Fixed and loaded again, it loads; the others are skipped.
    write_file(bad, bad_records)
    again = run(db_url, "mirror", "load", "--jobs", "0", str(folder))
    assert "pubmed25n0003.xml.gz  loaded   40 records" in again.output
    assert again.output.count("skipped  already loaded") == 3
    del first, second, last


def test_bad_paths_are_one_line_errors(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    result = run(url, "mirror", "load", str(tmp_path / "nowhere"), ok=False)
    assert result.exit_code == 1 and "no such file or folder" in result.output
    (tmp_path / "empty").mkdir()
    result = run(url, "mirror", "load", str(tmp_path / "empty"), ok=False)
    assert "no .xml or .xml.gz files in" in result.output
    assert "Traceback" not in result.output


def test_unreadable_records_are_counted_and_the_rest_loads(db_url, tmp_path):
    good = with_pmid(RECORDS[0][1], "72000001")
    with_mesh = next(r for _, r in RECORDS if b"<DescriptorName" in r)
    broken = with_pmid(with_mesh, "72000002").replace(b"<DescriptorName", b"<Descriptor")
    broken = broken.replace(b"</DescriptorName>", b"</Descriptor>")
    write_file(tmp_path / "pubmed25n0001.xml.gz", [good, broken])
    result = run(db_url, "mirror", "load", "--jobs", "0", str(tmp_path))
    assert "1 records (1 unreadable)" in result.output
    assert set(mirror_rows(db_url)) == {"72000001"}
    assert "PMID 72000002 could not be read" in status(db_url)["files"][0]["message"]


# -- interruptions --------------------------------------------------------------------------------


def _generated_files(folder: Path, files: int, per_file: int) -> list[Path]:
    from dataclasses import replace

    base = [a for a in parse_articles(HEAD + b"\n".join(r for _, r in RECORDS) + TAIL)
            if not a.is_book]
    out = []
    for k in range(files):
        records = [article_xml(replace(base[i % len(base)], pmid=str(80_000_000 + k * per_file
                                                                    + i)))
                   for i in range(per_file)]
        out.append(write_file(folder / f"pubmed25n{k + 1:04d}.xml.gz", records, level=1))
    return out


def test_kill_9_in_a_file_resumes_at_that_file_without_duplicates(db_url, tmp_path):
    folder = tmp_path / "nlm"
    # Files big enough that loading one takes well over the time between seeing it start and
    # the kill (1,500 records were loaded within that time on a fast machine).
    files, per_file = 4, 3000
    _generated_files(folder, files, per_file)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    cmd = [sys.executable, "-m", "pnet_pubmed", "--db", db_url, "mirror", "load",
           "--jobs", "1", str(folder)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    store = Store(db_url)
    f = t.mirror_files.c
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            try:
                with store.engine.connect() as conn:
                    states = dict(conn.execute(sa.select(f.name, f.status)).all())
            except sa.exc.DBAPIError:  # the load has not created the tables yet
                states = {}
            if list(states.values()).count("loaded") >= 1 and "loading" in states.values():
                break
            time.sleep(0.05)
        else:
            pytest.fail("the load never got into its second file")
        time.sleep(0.05)  # into the file's transaction
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        store.close()
    interrupted = status(db_url)
    assert interrupted["interrupted"], interrupted
    stopped_in = interrupted["interrupted"][0]
    done = [x["name"] for x in interrupted["files"] if x["status"] == "loaded"]
    # What is stored is whole files: the one it was in left nothing behind.
    assert count(db_url, t.mirror_records) == per_file * len(done)
    result = run(db_url, "mirror", "load", "--jobs", "1", str(folder))
    assert f"{stopped_in}  loaded   {per_file:,} records" in result.output
    assert "[resumed]" in result.output
    assert result.output.count("skipped  already loaded") == len(done)
    assert count(db_url, t.articles) == count(db_url, t.mirror_records) == files * per_file
    assert count(db_url, t.authors) == sum(
        len(a.authors) for p in sorted(folder.glob("*.gz")) for a in parse_records(p).articles)
    final = status(db_url)
    assert final["loaded"] == files and not final["interrupted"]
    # The reader process did not outlive its loader.
    out = subprocess.run(["pgrep", "-f", f"pnet_pubmed.mirror.reader.*{folder}"],
                         capture_output=True, text=True)
    assert out.stdout.strip() == ""


def test_pmid_of_and_with_pmid_agree():
    record = with_pmid(RECORDS[0][1], "123")
    assert pmid_of(record) == "123"
    assert parse_articles(HEAD + record + TAIL)[0].pmid == "123"
