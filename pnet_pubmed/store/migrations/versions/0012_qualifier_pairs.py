"""An index of MeSH qualifiers by (qualifier, descriptor, PMID).

`search --mesh X --qualifier Q` (and `--qualifier Q` alone) selects the articles with the pair
X/Q. The index of qualifier UIs alone gave every row of Q (drug therapy is under one heading
in ten) to be checked against X's descriptors, each row read from the table. With
(qualifier_ui, descriptor_ui, pmid) the pairs of Q under X's descriptors are each a range of
the index that holds what the filter reads, and Q alone still is its prefix.
"""

from __future__ import annotations

from alembic import op

revision = "0012_qualifier_pairs"
down_revision = "0011_filter_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_article_mesh_qualifiers_pairs", "article_mesh_qualifiers",
                    ["qualifier_ui", "descriptor_ui", "pmid"])
    op.drop_index("ix_article_mesh_qualifiers_qualifier_ui", "article_mesh_qualifiers")


def downgrade() -> None:
    op.create_index("ix_article_mesh_qualifiers_qualifier_ui", "article_mesh_qualifiers",
                    ["qualifier_ui"])
    op.drop_index("ix_article_mesh_qualifiers_pairs", "article_mesh_qualifiers")
