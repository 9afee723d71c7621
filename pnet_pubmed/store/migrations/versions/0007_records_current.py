"""Records stay current: each record's DateRevised, and the view article_flags.

articles.date_revised (MedlineCitation/DateRevised as YYYY-MM-DD) is what `refresh` compares;
records stored before this revision have none until they are fetched again (`refresh` or a
`link` whose cache has expired). article_flags turns comments and corrections and the
"Retracted Publication" type into one row per flag; pnet_pubmed/flags.py applies the same rule
to an Article, and a test checks that both agree on every corpus record.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_records_current"
down_revision = "0005_notes"  # re-chained after merging main (was 0003_readonly_role)
branch_labels = None
depends_on = None

# Frozen here as this revision creates it (pnet_pubmed/flags.py names the same RefTypes).
ARTICLE_FLAGS = """
CREATE VIEW article_flags AS
SELECT DISTINCT cc.pmid AS pmid,
       CASE cc.ref_type
           WHEN 'RetractionIn' THEN 'retracted'
           WHEN 'ExpressionOfConcernIn' THEN 'expression_of_concern'
           WHEN 'ErratumIn' THEN 'erratum'
           WHEN 'UpdateIn' THEN 'updated'
       END AS flag,
       cc.ref_pmid AS notice_pmid, cc.source AS source
FROM comments_corrections cc
WHERE cc.ref_type IN ('RetractionIn', 'ExpressionOfConcernIn', 'ErratumIn', 'UpdateIn')
UNION
SELECT DISTINCT pt.pmid AS pmid, 'retracted' AS flag,
       CAST(NULL AS TEXT) AS notice_pmid, CAST(NULL AS TEXT) AS source
FROM publication_types pt
WHERE (pt.ui = 'D016441' OR pt.name = 'Retracted Publication')
  AND NOT EXISTS (SELECT 1 FROM comments_corrections c2
                  WHERE c2.pmid = pt.pmid AND c2.ref_type = 'RetractionIn')
"""


def upgrade() -> None:
    op.add_column("articles", sa.Column("date_revised", sa.Text))
    # The `sql` role's SELECT on it: default privileges (0003), and Store.upgrade's check.
    op.execute(ARTICLE_FLAGS)


def downgrade() -> None:
    op.execute("DROP VIEW IF EXISTS article_flags")
    # A plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch copy of the table would trip
    # over the views that read it.
    op.drop_column("articles", "date_revised")
