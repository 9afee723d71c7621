"""MeSH headings as PubMed searches them: named by descriptor, UI or entry term, exploded.

The shipped vocabulary (pnet_pubmed.meshtree) resolves what a user types and gives the
descriptors below it; a heading it does not know but the database stores (a descriptor newer
than the vocabulary, say) is used as stored, without explosion. An unknown heading is an
error naming the closest descriptors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..meshtree import MeshError, UnknownHeadingError, vocabulary
from ..store.dbapi import ReadConnection


@dataclass(frozen=True)
class Heading:
    """The descriptors a heading selects (its own UI first), and the line that says which
    descriptor an entry term stood for (None when the term was the descriptor itself)."""

    uis: tuple[str, ...]
    name: str
    note: str | None = None


def resolve(conn: ReadConnection, term: str, explode: bool = True) -> Heading:
    """The heading a user means by term, with the descriptors below it when explode."""
    mesh = vocabulary()
    try:
        found = mesh.resolve(term)
    except UnknownHeadingError:
        stored = conn.one("SELECT ui, name FROM mesh_descriptors WHERE lower(name) = :name "
                          "OR ui = :ui", {"name": term.strip().lower(), "ui": term.strip().upper()})
        if stored is None:
            raise
        return Heading((stored[0],), stored[1])
    below = sorted(mesh.narrower(found.ui) - {found.ui}) if explode else []
    return Heading((found.ui, *below), found.name, found.note())


def roll_up(uis: Iterable[str], depth: int) -> dict[str, tuple[str, ...]]:
    """Each descriptor UI's ancestors at tree depth `depth` (meshtree.ancestors_at_depth); a UI
    the vocabulary does not know stays itself."""
    mesh = vocabulary()
    return {ui: mesh.ancestors_at_depth(ui, depth) if ui in mesh else (ui,) for ui in uis}


def names(uis: Iterable[str]) -> dict[str, str]:
    """The vocabulary's name of each UI it knows."""
    mesh = vocabulary()
    return {ui: mesh.name(ui) for ui in uis if ui in mesh}


__all__ = ["Heading", "MeshError", "names", "resolve", "roll_up"]
