"""pnet-pubmed: link reference lists to PubMed records, enrich them, store and search them.

    import pnet_pubmed
    result = pnet_pubmed.link(["Yao JC, Shah MH, Ito T, et al. Everolimus for advanced "
                               "pancreatic neuroendocrine tumors. N Engl J Med. "
                               "2011;364(6):514-23."],
                              collection="notebook", db="sqlite:///refs.sqlite")
    article = pnet_pubmed.article(result.references[0].pmid, db="sqlite:///refs.sqlite")

The names below are loaded on first use, so `import pnet_pubmed` costs almost nothing and a
command that only reads the database never imports the HTTP or plotting stacks.
"""

from __future__ import annotations

import sys
import types
from importlib import import_module

__version__ = "0.1.0"

# public name -> the module that defines it
_EXPORTS = {
    "link": "api", "refs": "api", "article": "api", "collections": "api",
    "export": "api", "search": "api", "mesh_profile": "api", "settings": "api",
    "optimize": "api",
    "LinkResult": "api", "Reference": "api", "Collection": "api", "Flag": "api",
    "SearchHit": "api", "MeshCount": "api",
    "Settings": "config",
    "Article": "values", "Author": "values", "MeshHeading": "values", "Qualifier": "values",
    "Citation": "values", "Match": "values", "PublicationType": "values",
    "PnetPubmedError": "errors", "InputError": "errors", "NCBIError": "errors",
    "StoreError": "errors", "QueryError": "errors", "LinkError": "errors",
}

__all__ = sorted(_EXPORTS) + ["__version__"]


class _Package(types.ModuleType):
    """pnet_pubmed itself, whose public function `search` wins over the subpackage of the same
    name: importing pnet_pubmed.search (the engine, in sys.modules as usual) binds it here as
    an attribute, which would otherwise hide the function. Reach the engine's modules with
    `from pnet_pubmed.search import …`."""

    @property
    def search(self):
        from .api import search

        return search

    @search.setter
    def search(self, _module) -> None:
        pass  # the import system binding the subpackage: it stays in sys.modules


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pnet_pubmed' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
