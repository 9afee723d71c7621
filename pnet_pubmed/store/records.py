"""The Store's PubMed records: saved with their parts, read back, selected for refresh."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import sqlalchemy as sa

from pnet_pubmed.flags import Flag
from pnet_pubmed.util import chunked
from pnet_pubmed.values import Article

from . import reads
from . import schema as t
from .base import CHUNK, StoreBase, translating, utc, utc_now
from .rows import article_rows


class RecordStore(StoreBase):
    """Records by PMID with their child rows; the index hooks follow every save."""


    @translating
    def save_articles(
        self, articles: Sequence[Article], fetched_at: Mapping[str, datetime] | None = None
    ) -> int:
        """Insert or replace records by PMID, with all their parts; returns how many were saved.

        Child rows are deleted and inserted again. MeSH descriptors and qualifiers are shared:
        a UI seen with a new name takes that name for every article.

        fetched_at says when NCBI gave each copy (default: now). A copy older than the stored
        one is skipped, so an answer cached before a `refresh` never brings an old version back,
        and so is the stored copy itself (the same fetched_at: a rerun served from the cache).
        """
        unique = {a.pmid: a for a in articles}  # the same record twice: the later one wins
        if not unique:
            return 0
        given = {p: utc(f) for p, f in (fetched_at or {}).items() if p in unique and f}
        with self._write() as conn:
            now = utc_now()  # once the write lock is held: a copy without a time is the newest
            when = {p: given.get(p, now) for p in unique}
            stored = self._fetched_at(conn, sorted(given))
            # Sorted, so concurrent writers lock rows in the same order and cannot deadlock.
            # The same copy again (a rerun served from the cache) is not rewritten either.
            batch = [unique[p] for p in sorted(unique) if p not in stored or stored[p] < when[p]]
            if not batch:
                return 0
            rows = article_rows(batch, when)
            pmids = [a.pmid for a in batch]
            ins = self._insert(t.articles)
            conn.execute(
                ins.on_conflict_do_update(
                    index_elements=["pmid"],
                    set_={k: ins.excluded[k] for k in rows.articles[0] if k != "pmid"},
                ),
                rows.articles,
            )
            self._upsert_vocabulary(conn, t.mesh_descriptors, rows.mesh_descriptors)
            self._upsert_vocabulary(conn, t.mesh_qualifiers, rows.mesh_qualifiers)
            for table in t.ARTICLE_CHILD_TABLES:
                for chunk in chunked(pmids, CHUNK):
                    conn.execute(table.delete().where(table.c.pmid.in_(chunk)))
            for table in reversed(t.ARTICLE_CHILD_TABLES):
                table_rows = getattr(rows, table.name)
                if table_rows:
                    conn.execute(table.insert(), table_rows)
            self.after_save_articles(conn, batch)
        return len(batch)

    @staticmethod
    def _fetched_at(conn: sa.Connection, pmids: list[str]) -> dict[str, datetime]:
        a = t.articles.c
        out: dict[str, datetime] = {}
        for chunk in chunked(pmids, CHUNK):
            q = sa.select(a.pmid, a.fetched_at).where(a.pmid.in_(chunk))
            out.update((p, utc(f)) for p, f in conn.execute(q))
        return out

    @translating
    def touch_articles(self, pmids: Iterable[str], fetched_at: datetime | None = None) -> None:
        """Record that NCBI's copy of these records was checked at fetched_at (default: now)."""
        when = utc(fetched_at) if fetched_at else utc_now()
        wanted = sorted(set(pmids))
        a = t.articles
        with self._write() as conn:
            for chunk in chunked(wanted, CHUNK):
                conn.execute(a.update().where(a.c.pmid.in_(chunk)).values(fetched_at=when))

    @translating
    def refresh_selection(
        self,
        collection: str | None = None,
        older_than: datetime | None = None,
        status_not: Sequence[str] = (),
    ) -> list[str]:
        """PMIDs of the stored records that matched references link to, for `refresh`.

        Of one collection or of all; only those fetched before older_than, and only those whose
        MEDLINE status is none of status_not (a record without a status is always kept).
        """
        a, r, c = t.articles.c, t.refs.c, t.collections.c
        q = (
            sa.select(a.pmid)
            .join_from(t.articles, t.refs, r.pmid == a.pmid)
            .where(r.status == "matched")
            .distinct()
        )
        if collection is not None:
            q = q.join(t.collections, c.id == r.collection_id).where(c.name == collection)
        if older_than is not None:
            q = q.where(a.fetched_at < utc(older_than))
        if status_not:
            q = q.where(sa.or_(a.status.is_(None), a.status.not_in(list(status_not))))
        with self._read() as conn:
            return sorted(conn.execute(q).scalars(), key=lambda p: (len(p), p))

    @translating
    def article_flags(self, pmids: Iterable[str]) -> dict[str, tuple[Flag, ...]]:
        """Retracted, expression of concern, erratum, updated: the flags of stored records, read
        from the view article_flags (pnet_pubmed/flags.py has the rule). Unflagged: left out."""
        with self._reading() as conn:
            return reads.article_flags(conn, pmids)

    def _upsert_vocabulary(self, conn: sa.Connection, table: sa.Table, names: dict) -> None:
        if not names:
            return
        ins = self._insert(table)
        conn.execute(
            ins.on_conflict_do_update(
                index_elements=["ui"],
                set_={"name": ins.excluded.name},
                # No write (and no dead row on PostgreSQL) when the name is the same.
                where=table.c.name != ins.excluded.name,
            ),
            [{"ui": ui, "name": names[ui]} for ui in sorted(names)],
        )

    def after_save_articles(self, conn: sa.Connection, articles: Sequence[Article]) -> None:
        """Called inside save_articles' transaction once every row is written; runs the hooks.

        The place for derived data such as a full-text index (pnet_pubmed/search/index.py).
        """
        for hook in self.article_hooks:
            hook(conn, articles)

    @translating
    def article(self, pmid: str) -> Article | None:
        """The stored record with this PMID, rebuilt from its rows; None when not stored."""
        found = self.articles([pmid])
        return found[0] if found else None

    @translating
    def articles(self, pmids: Iterable[str]) -> list[Article]:
        """Stored records in the order asked for; PMIDs not stored are skipped."""
        with self._reading() as conn:
            return reads.articles(conn, pmids)

    @translating
    def known_pmids(self, pmids: Iterable[str]) -> set[str]:
        """Those of the PMIDs whose records are stored."""
        wanted = list(dict.fromkeys(pmids))
        found: set[str] = set()
        with self._read() as conn:
            for chunk in chunked(wanted, CHUNK):
                q = sa.select(t.articles.c.pmid).where(t.articles.c.pmid.in_(chunk))
                found.update(conn.execute(q).scalars())
        return found

