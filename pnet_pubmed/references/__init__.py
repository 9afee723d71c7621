"""Reading reference lists: files of any format, free text, identifiers, the trained labeller."""

from .bibtex import parse_bibtex
from .csljson import parse_csl_json
from .formats import parse_references, read_references, references_from_bytes
from .freetext.fields import parse_reference
from .freetext.lists import citations_from_texts, parse_reference_list
from .io import CitationInputError, detect_format, read_input
from .medline import parse_medline
from .ris import parse_ris

__all__ = [
    "CitationInputError",
    "citations_from_texts",
    "detect_format",
    "parse_bibtex",
    "parse_csl_json",
    "parse_medline",
    "parse_reference",
    "parse_reference_list",
    "parse_references",
    "parse_ris",
    "read_input",
    "read_references",
    "references_from_bytes",
]
