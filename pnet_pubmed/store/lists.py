"""The Store's reference lists: collections, their references and the matches decided."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import sqlalchemy as sa

from pnet_pubmed.util import chunked, no_cycle_collection
from pnet_pubmed.values import MATCH_STATUSES, Citation, Match

from . import reads
from . import schema as t
from .base import CHUNK, StoreBase, StoreError, translating, utc_now
from .rows import citation_row, match_row

MATCH_COLUMNS = ("status", "pmid", "candidates", "method", "score", "reason", "notes")
# The columns a reference's parsed fields fill (rows.citation_row), but its key.
PARSED_COLUMNS = ("position", "raw", "kind", "authors", "et_al", "group_name", "year", "title",
                  "journal", "volume", "issue", "pages", "first_page", "doi", "pmid_given",
                  "abstract_number", "parse_reason")


class CollectionStore(StoreBase):
    """Collections and their references; one transaction per method."""


    @translating
    def collection_id(self, name: str, source: str | None = None, create: bool = True) -> int:
        """The id of a collection; created when missing (or StoreError if create is False).

        A source given for an existing collection replaces the stored one.
        """
        if create:
            with self._write() as conn:
                return self._collection_id(conn, name, source, create=True)
        with self._read() as conn:
            return self._collection_id(conn, name, None, create=False)

    def _collection_id(
        self, conn: sa.Connection, name: str, source: str | None, create: bool
    ) -> int:
        c = t.collections.c
        row = conn.execute(sa.select(c.id, c.source).where(c.name == name)).first()
        if row is not None:
            if source is not None and source != row.source:
                conn.execute(
                    t.collections.update()
                    .where(c.id == row.id)
                    .values(source=source, updated_at=utc_now())
                )
            return row.id
        if not create:
            reads.require_collection(name, conn.execute(
                sa.select(c.name).order_by(c.name)).scalars(), StoreError)
        now = utc_now()
        # ON CONFLICT: another process may create the same collection at the same time.
        conn.execute(
            self._insert(t.collections)
            .values(name=name, source=source, created_at=now, updated_at=now)
            .on_conflict_do_nothing(index_elements=["name"])
        )
        return conn.execute(sa.select(c.id).where(c.name == name)).scalar_one()

    @translating
    def save_citations(self, collection: str, citations: Sequence[Citation]) -> int:
        """Make the collection's references exactly `citations`, by key; returns how many left.

        A reference is its key in the list. Parsed fields always take the new values (a
        reference read as it is stored is not written again). A reference whose raw text
        changed goes back to 'pending' and loses its match; an unchanged one keeps it.
        References of the collection whose keys are not in `citations` are deleted (the
        articles they were linked to stay: other lists may cite them). All of it is one
        transaction: the collection is the old list or the new one, never a mix.
        """
        dupes = sorted(k for k, n in Counter(c.key for c in citations).items() if n > 1)
        if dupes:
            raise StoreError(f"duplicate reference keys in {collection!r}: {', '.join(dupes)}")
        now = utc_now()
        with no_cycle_collection(), self._write() as conn:
            cid = self._collection_id(conn, collection, None, create=True)
            conn.execute(
                t.collections.update().where(t.collections.c.id == cid).values(updated_at=now)
            )
            r = t.refs.c
            # What is stored already, read once: rows that would be written as they are stay.
            stored = {row[0]: row[1:] for row in conn.execute(
                sa.select(r.key, *(r[k] for k in PARSED_COLUMNS)).where(r.collection_id == cid))}
            removed = self._remove_other_keys(conn, cid, set(stored),
                                              {c.key for c in citations})
            rows = []
            for c in sorted(citations, key=lambda c: c.key):
                row = citation_row(c)
                if stored.get(c.key) != tuple(row[k] for k in PARSED_COLUMNS):
                    rows.append(row | {"updated_at": now})
            if not rows:
                return removed
            # A new reference is pending, with no match: the same for every row, in the SQL.
            ins = self._insert(t.refs).values(
                collection_id=sa.literal_column(str(int(cid))),
                status=sa.literal_column("'pending'"),
                candidates=sa.literal_column("'[]'"), notes=sa.literal_column("'[]'"))
            new = ins.excluded
            old = t.refs.c
            changed = old.raw != new.raw
            set_ = {k: new[k] for k in rows[0] if k != "key"}
            set_["status"] = sa.case((changed, "pending"), else_=old.status)
            for k in ("pmid", "method", "score", "reason"):
                set_[k] = sa.case((changed, sa.null()), else_=old[k])
            set_["candidates"] = sa.case((changed, new.candidates), else_=old.candidates)
            set_["notes"] = sa.case((changed, new.notes), else_=old.notes)
            conn.execute(
                ins.on_conflict_do_update(index_elements=["collection_id", "key"], set_=set_),
                rows,
            )
            return removed

    @staticmethod
    def _remove_other_keys(conn: sa.Connection, cid: int, stored: set[str],
                           keep: set[str]) -> int:
        r = t.refs.c
        gone = sorted(stored - keep)
        for chunk in chunked(gone, CHUNK):
            conn.execute(t.refs.delete().where(r.collection_id == cid, r.key.in_(chunk)))
        return len(gone)

    @translating
    def save_matches(self, collection: str, matches: Sequence[Match]) -> None:
        """Record match outcomes on the references with the same keys; unknown keys fail.

        A 'pending' outcome says a run could not decide: it never replaces a decided status
        (matched, ambiguous, not_found) and only updates the reason of a pending reference.
        """
        bad = sorted({m.status for m in matches} - set(MATCH_STATUSES))
        if bad:
            raise StoreError(f"invalid match status: {', '.join(bad)}")
        now = utc_now()
        with no_cycle_collection(), self._write() as conn:
            cid = self._collection_id(conn, collection, None, create=False)
            if not matches:
                return
            r = t.refs.c
            keys = sorted({m.key for m in matches})
            known: set[str] = set()
            for chunk in chunked(keys, CHUNK):  # only this batch's keys: a long list stays linear
                known.update(conn.execute(sa.select(r.key).where(
                    r.collection_id == cid, r.key.in_(chunk))).scalars())
            missing = [k for k in keys if k not in known]
            if missing:
                shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
                raise StoreError(f"no references with keys {shown} in {collection!r}")
            # The collection's row first, then its references, as save_citations writes them:
            # writers that lock rows in one order wait for each other instead of deadlocking.
            conn.execute(t.collections.update().where(t.collections.c.id == cid)
                         .values(updated_at=now))
            values = [match_row(m) for m in matches]
            if len(keys) == len(matches) and all(v == values[0] for v in values):
                # One outcome for all (a batch an offline run could not decide): one statement
                # per chunk of keys, in key order as the rows below.
                undecided = matches[0].status == "pending"
                for chunk in chunked(keys, CHUNK):
                    conn.execute(t.refs.update().where(
                        r.collection_id == cid, r.key.in_(chunk),
                        *([r.status == "pending"] if undecided else []),
                    ).values(values[0] | {"updated_at": now}))
                return
            stmt = (
                t.refs.update()
                .where(
                    r.collection_id == cid,
                    r.key == sa.bindparam("b_key"),
                    sa.or_(sa.not_(sa.bindparam("b_undecided", type_=sa.Boolean)),
                           r.status == "pending"),
                )
                .values(
                    {
                        col: sa.bindparam(f"b_{col}", type_=r[col].type)
                        for col in (*MATCH_COLUMNS, "updated_at")
                    }
                )
            )
            params = [
                {f"b_{k}": v for k, v in match_row(m).items()}
                | {"b_key": m.key, "b_updated_at": now, "b_undecided": m.status == "pending"}
                for m in sorted(matches, key=lambda m: m.key)
            ]
            conn.execute(stmt, params)

    @translating
    def references(self, collection: str | None = None, status: str | None = None) -> list[dict]:
        """References with their match, ordered by collection name and position."""
        with self._reading() as conn:
            return reads.references(conn, collection, status)

    @translating
    def collections(self) -> list[dict]:
        """Every collection with its number of references in each status, by name."""
        with self._reading() as conn:
            return reads.collections(conn)

    @translating
    def delete_collection(self, name: str) -> dict:
        """Remove a collection and its references, in one transaction; the records stay.

        Stored records are shared: other collections may cite them, a mirror loads records that
        no collection cites, and `search` finds them all. So deleting a list never deletes a
        record; the counts say how many of its records no other collection cites.
        """
        c, r = t.collections.c, t.refs.c
        with self._write() as conn:
            cid = self._collection_id(conn, name, None, create=False)
            n_refs = conn.execute(
                sa.select(sa.func.count()).select_from(t.refs).where(r.collection_id == cid)
            ).scalar_one()
            linked = set(conn.execute(
                sa.select(r.pmid).where(r.collection_id == cid, r.status == "matched",
                                        r.pmid.is_not(None))).scalars())
            elsewhere: set[str] = set()
            for chunk in chunked(sorted(linked), CHUNK):
                elsewhere.update(conn.execute(
                    sa.select(r.pmid).where(r.collection_id != cid, r.status == "matched",
                                            r.pmid.in_(chunk))).scalars())
            conn.execute(t.refs.delete().where(r.collection_id == cid))
            conn.execute(t.collections.delete().where(c.id == cid))
        return {"collection": name, "references": int(n_refs), "records": len(linked),
                "records_cited_elsewhere": len(elsewhere)}
