"""Test suite of pnet-pubmed (a package so that tests.eutils_standin is importable)."""
