"""Score-ordered lists of frequent words for search (pnet_pubmed/search/words.py, SQLite;
pnet_pubmed/search/pgwords.py, PostgreSQL).

SQLite: creates search_words (a word, its article count, the mean length its keys were computed
at and its floor), search_word_top (the word's best articles by their bm25 weight) and
search_word_log (changes of article_search not yet carried into the lists), with the triggers
that fill the log while lists exist. The stored text of article_search changes form (its
tokens joined by spaces): every article is indexed again.

PostgreSQL: search_words (a word, its article count, its floor), search_word_top (the word's
best articles by ts_rank_cd, with an index in the searches' order), search_word_log (the old
and new documents of changed articles), and a row trigger on article_search that fills the log
while lists exist.

The lists start empty: `pnet-pubmed db optimize` builds them; until then searches rank every
match as before.
"""

from __future__ import annotations

from alembic import op

from pnet_pubmed.store.migrations.rebuild import rebuild_article_index

revision = "0010_search_words"
down_revision = "0009_gin_pending_list"
branch_labels = None
depends_on = None

# Frozen here as this revision creates them (pnet_pubmed/search/words.py has the same).
_TABLES = (
    """
    CREATE TABLE search_words (
        word TEXT PRIMARY KEY,
        df INTEGER NOT NULL,
        avgdl REAL NOT NULL,
        floor REAL NOT NULL
    ) WITHOUT ROWID
    """,
    """
    CREATE TABLE search_word_top (
        word TEXT NOT NULL,
        key REAL NOT NULL,
        id INTEGER NOT NULL,
        x REAL NOT NULL,
        d INTEGER NOT NULL,
        PRIMARY KEY (word, key, id)
    ) WITHOUT ROWID
    """,
    "CREATE INDEX ix_search_word_top_id ON search_word_top (id)",
    """
    CREATE TABLE search_word_log (
        seq INTEGER PRIMARY KEY,
        id INTEGER NOT NULL,
        sign INTEGER NOT NULL,
        title TEXT, abstract TEXT, mesh TEXT, keywords TEXT
    )
    """,
)
_LOG_NEW = ("INSERT INTO search_word_log (id, sign, title, abstract, mesh, keywords) "
            "VALUES (new.id, 1, new.title, new.abstract, new.mesh, new.keywords);")
_LOG_OLD = ("INSERT INTO search_word_log (id, sign, title, abstract, mesh, keywords) "
            "VALUES (old.id, -1, old.title, old.abstract, old.mesh, old.keywords);")
_WHEN = "WHEN EXISTS (SELECT 1 FROM search_words)"
_TRIGGERS = (
    f"CREATE TRIGGER search_words_ai AFTER INSERT ON article_search {_WHEN} "
    f"BEGIN {_LOG_NEW} END",
    f"CREATE TRIGGER search_words_ad AFTER DELETE ON article_search {_WHEN} "
    f"BEGIN {_LOG_OLD} END",
    f"CREATE TRIGGER search_words_au AFTER UPDATE ON article_search {_WHEN} "
    f"BEGIN {_LOG_OLD} {_LOG_NEW} END",
)


# PostgreSQL.
_PG_TABLES = (
    """
    CREATE TABLE search_words (
        word text PRIMARY KEY,
        df integer NOT NULL,
        floor real NOT NULL
    )
    """,
    """
    CREATE TABLE search_word_top (
        word text NOT NULL,
        rank real NOT NULL,
        pmid text NOT NULL,
        PRIMARY KEY (pmid, word)
    )
    """,
    # A search reads one word's entries in this order (plan._ranked's, ties to the higher PMID).
    "CREATE INDEX ix_search_word_top_rank ON search_word_top "
    "(word, rank DESC, length(pmid) DESC, pmid DESC)",
    """
    CREATE TABLE search_word_log (
        seq bigserial PRIMARY KEY,
        pmid text NOT NULL,
        sign smallint NOT NULL,
        document tsvector
    )
    """,
    # A row trigger cannot test another table in its WHEN: the function does.
    """
    CREATE FUNCTION search_words_log() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF EXISTS (SELECT 1 FROM search_words) THEN
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                INSERT INTO search_word_log (pmid, sign, document)
                VALUES (OLD.pmid, -1, OLD.document);
            END IF;
            IF TG_OP IN ('UPDATE', 'INSERT') THEN
                INSERT INTO search_word_log (pmid, sign, document)
                VALUES (NEW.pmid, 1, NEW.document);
            END IF;
        END IF;
        RETURN NULL;
    END
    $$
    """,
    # COPY FROM fires row triggers too: mirror loads are logged.
    "CREATE TRIGGER search_words_log AFTER INSERT OR UPDATE OR DELETE ON article_search "
    "FOR EACH ROW EXECUTE FUNCTION search_words_log()",
)


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in _PG_TABLES:
            op.execute(statement)
        return
    if op.get_bind().dialect.name != "sqlite":
        return
    for statement in (*_TABLES, *_TRIGGERS):
        op.execute(statement)
    # article_search now holds each field's folded tokens joined by single spaces (so that
    # Python splits it as FTS5 does), folded once more where a letter folded in two steps.
    rebuild_article_index(op)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS search_words_log ON article_search")
        op.execute("DROP FUNCTION IF EXISTS search_words_log()")
        for table in ("search_word_log", "search_word_top", "search_words"):
            op.execute(f"DROP TABLE IF EXISTS {table}")
        return
    if op.get_bind().dialect.name != "sqlite":
        return
    for trigger in ("search_words_ai", "search_words_ad", "search_words_au"):
        op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    for table in ("search_word_log", "search_word_top", "search_words"):
        op.execute(f"DROP TABLE IF EXISTS {table}")
