"""pnet-pubmed: link reference lists to PubMed records, enrich them, store and search them."""

__version__ = "0.1.0"
