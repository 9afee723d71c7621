"""The errors of search: a search that cannot run as asked, and a malformed query."""

from __future__ import annotations

from ..errors import QueryError


class SearchError(QueryError):
    """A search that cannot run as asked, with a one-line message fit for a user."""


class SearchQueryError(SearchError):
    """A malformed search query; the message says what is wrong and at which column."""
