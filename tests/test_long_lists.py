"""Long reference lists: numbers past 999 start entries, and splitting stays linear."""

from __future__ import annotations

import pytest

from pnet_pubmed.references import parse_reference_list
from pnet_pubmed.references.freetext import entries, fields, lists

LINE = "{n}. {name} A, Other B. A study number {n} of something. J Test. 2001;{v}:{p}-9."


def _numbered(count: int) -> str:
    return "\n".join(LINE.format(n=n, name=_name(n), v=n % 90 + 1, p=n % 500 + 10)
                     for n in range(1, count + 1))


def _name(n: int) -> str:
    return "".join("Bcdfghjklm"[int(d)] for d in str(n)).capitalize() + "son"


def test_numbers_past_999_start_new_references():
    cits = parse_reference_list(_numbered(1205))
    assert len(cits) == 1205
    assert [c.key for c in cits[998:1002]] == ["999", "1000", "1001", "1002"]
    assert cits[999].authors[0].last == _name(1000)
    assert all(c.kind == "article" for c in cits)


@pytest.mark.parametrize("marker", ["{n}. ", "{n}) ", "[{n}] ", "{n}.\t"])
@pytest.mark.parametrize("first", [9_996, 99_996, 999_996])
def test_numbers_of_any_length_start_new_references(marker, first):
    # The end of a long list pasted on its own: 9,999 -> 10,000, 99,999 -> 100,000, and on.
    numbers = range(first, first + 8)
    text = "\n".join(marker.format(n=n) + LINE.format(n=n, name=_name(n), v=3, p=10)[len(
        f"{n}. "):] for n in numbers)
    cits = parse_reference_list(text)
    assert [c.key for c in cits] == [str(n) for n in numbers]
    assert [c.authors[0].last for c in cits] == [_name(n) for n in numbers]


@pytest.mark.parametrize("marker", ["{n} ", "({n}) "])
def test_a_list_past_ten_thousand_keeps_every_reference_apart(marker, monkeypatch):
    # Bare and bracketed numbers past 999 count only in the list's sequence: a whole list.
    monkeypatch.setattr(lists, "with_labelled_readings",
                        lambda citations, texts, journals=None: citations)
    monkeypatch.setattr(lists, "PARALLEL_FROM", 10**9)
    text = "\n".join(marker.format(n=n) + LINE.format(n=n, name=_name(n), v=3, p=10)[len(
        f"{n}. "):] for n in range(1, 10_006))
    cits = parse_reference_list(text)
    assert [c.key for c in cits] == [str(n) for n in range(1, 10_006)]
    assert [c.authors[0].last for c in cits[9_997:]] == [_name(n) for n in range(9_998, 10_006)]
    assert all("\n" not in c.raw for c in cits)


def _tail_of_a_long_list(first: int, count: int, broken: dict[int, str]) -> str:
    return "\n".join(broken.get(n) or LINE.format(n=n, name=_name(n), v=3, p=10)
                     for n in range(first, first + count))


def test_a_broken_line_that_starts_with_1_does_not_derail_the_count():
    # "… using MRI" + "1. Neurology. 2007;68:1223-6.": the end of a title, not a new list; the
    # numbers after it still start their references.
    broken = {25_081: "25081. Podewils LJ, Guallar E. Physical activity and white matter lesion "
                      "progression: assessment using MRI\n1. Neurology. 2007;68:1223-6."}
    cits = parse_reference_list(_tail_of_a_long_list(25_075, 40, broken))
    assert [c.key for c in cits] == [str(n) for n in range(25_075, 25_115)]
    assert cits[6].journal == "Neurology" and cits[6].year == 2007
    assert cits[6].title.endswith("using MRI 1")


@pytest.mark.parametrize("first", [590, 12_590])
def test_the_source_on_its_own_line_joins_its_reference_at_any_number(first):
    # The entry's own number is not read as its text ("12598. Tilly JL. … 1, 2, 3." looked
    # complete, with 12598 as its title), so the source line below it is not a reference.
    n = first + 8
    broken = {n: f"{n}. Tilly JL. Ovarian follicle counts--not as simple as 1, 2, 3.\n"
                 "Reprod Biol Endocrinol. 2003;1:11."}
    cits = parse_reference_list(_tail_of_a_long_list(first, 12, broken))
    assert [c.key for c in cits] == [str(k) for k in range(first, first + 12)]
    assert (cits[8].journal, cits[8].year, cits[8].volume) == ("Reprod Biol Endocrinol", 2003, "1")


@pytest.mark.parametrize(("marker", "first"), [("{n}. ", 440), ("{n}. ", 1_440), ("{n} ", 440)])
def test_a_line_with_no_capital_and_a_year_carries_on_its_reference(marker, first):
    # "A study of 3, 647" reads as volume 3, page 647: the line below still belongs to it.
    n = first + 3
    cut = ("Cheng JC, Leung SS, Chiu BS. Can we\npredict body height from segmental bone\n"
           "length measurements? A study of 3, 647\nchildren. J Pediatr Orthop. 1998;18:387-93. h"
           "\nttps://doi.org/10.1097/00004694-199805000-\n00022.")
    text = "\n".join(marker.format(n=k) + (cut if k == n else LINE.format(
        n=k, name=_name(k), v=3, p=10)[len(f"{k}. "):]) for k in range(first, first + 8))
    cits = parse_reference_list(text)
    assert [c.key for c in cits] == [str(k) for k in range(first, first + 8)]
    assert (cits[3].year, cits[3].volume, cits[3].first_page) == (1998, "18", "387")
    assert cits[3].doi == "10.1097/00004694-199805000-00022"


def test_a_year_at_the_start_of_a_broken_line_is_not_a_number():
    text = ("1. Yao JC, Shah MH. Everolimus for advanced pancreatic neuroendocrine tumors.\n"
            "2011. N Engl J Med;364:514-23.\n"
            "2. Raymond E, Dahan L. Sunitinib malate for the treatment of pancreatic "
            "neuroendocrine tumors. N Engl J Med. 2011;364:501-13.")
    cits = parse_reference_list(text)
    assert [c.key for c in cits] == ["1", "2"]


def _calls_per_line(monkeypatch, text: str) -> float:
    calls = 0
    real = fields.parse_reference

    def counting(*args, **kwargs):
        nonlocal calls
        calls += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(fields, "parse_reference", counting)
    parse_reference_list(text)
    return calls / text.count("\n")


def test_splitting_does_a_bounded_amount_of_work_per_line(monkeypatch):
    # Lines that never look complete would each re-parse an ever longer entry (quadratic).
    endless = "\n".join(f"word{n} and more words that never end a reference," for n in range(3000))
    small = _calls_per_line(monkeypatch, endless[: len(endless) // 10])
    large = _calls_per_line(monkeypatch, endless)
    assert large <= small * 1.2 + 1
    numbered = _numbered(3000)
    assert _calls_per_line(monkeypatch, numbered) <= _calls_per_line(
        monkeypatch, numbered[: len(numbered) // 10]) * 1.2 + 1


def test_an_entry_is_never_longer_than_the_cap():
    endless = "\n".join(f"word{n} and more words that never end a reference," for n in range(400))
    cits = parse_reference_list(endless)
    assert max(c.raw.count("\n") + 1 for c in cits) <= entries.MAX_ENTRY_LINES


def test_reading_reports_progress():
    seen = []
    cits = parse_reference_list(_numbered(1200), lambda stage, n: seen.append((stage, n)))
    assert seen[0] == ("read_start", 1200)
    assert sum(n for stage, n in seen if stage == "read") == 1200 == len(cits)


def test_worker_processes_read_a_long_list_as_one_process_does(monkeypatch):
    text = _numbered(1300)
    alone = parse_reference_list(text)
    monkeypatch.setattr(lists, "PARALLEL_FROM", 1000)
    used = []
    real = lists._read_in_workers

    def spy(chunks, report, journals):
        result = real(chunks, report, journals)
        used.append(result is not None)
        return result

    monkeypatch.setattr(lists, "_read_in_workers", spy)
    together = parse_reference_list(text)
    assert used  # the parallel path was taken (it may decline: then both are one process)
    assert [(c.key, c.title, c.year, c.authors, c.alternatives) for c in together] == [
        (c.key, c.title, c.year, c.authors, c.alternatives) for c in alone]


def test_link_on_a_terminal_shows_reading_then_linking_from_zero(tmp_path):
    import os
    import pty
    import subprocess
    import sys

    source = tmp_path / "list.txt"
    source.write_text(_numbered(1200), encoding="utf-8")
    env = dict(os.environ, PNET_PUBMED_CACHE=str(tmp_path / "cache"),
               PNET_PUBMED_DB=f"sqlite:///{tmp_path}/db.sqlite")
    master, terminal = pty.openpty()  # the bar is drawn only when stderr is a terminal
    proc = subprocess.Popen([sys.executable, "-m", "pnet_pubmed", "link", str(source),
                             "--offline"], stdout=subprocess.PIPE, stderr=terminal, env=env)
    os.close(terminal)
    drawn = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # the other end closed
            break
        if not chunk:
            break
        drawn += chunk
    os.close(master)
    assert proc.wait(timeout=120) == 0
    assert b"1200 references" in proc.stdout.read()
    frames = [f.strip() for f in drawn.decode(errors="replace").replace("\x1b[?25l", "")
              .replace("\x1b[?25h", "").split("\r") if f.strip()]
    reading = [f for f in frames if f.startswith("Reading the list")]
    linking = [f for f in frames if f.startswith("Linking")]
    assert reading and linking and frames.index(reading[-1]) < frames.index(linking[0])
    assert frames[0].startswith("Reading the list")  # from the start, not "Linking 0/1"
    assert " 1200/1200" in reading[-1]
    assert "] 0/1200" in " ".join(linking[0].split()) and "#" not in linking[0]  # not done
    assert " 1200/1200" in linking[-1]
