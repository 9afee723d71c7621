"""PubMed's own export (MEDLINE / "PubMed format", .nbib), read with Bio.Medline: every record
carries its PMID."""

from __future__ import annotations

import re
from dataclasses import replace

from Bio import Medline

from ..values import Citation
from .structured import structured


def _medline_records(text: str) -> list[str]:
    records: list[str] = []
    current: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if re.match(r"^PMID- ", line) and current:
            records.append("\n".join(current))
            current = []
        if line.strip() or current:
            current.append(line.rstrip())
    if current:
        records.append("\n".join(current))
    return [r.strip("\n") for r in records if r.strip()]


_DOI = re.compile(r"(\S+)\s*\[doi\]")


def _fields(record: str) -> dict[str, str | list[str]]:
    """One record's fields as Bio.Medline reads them (text fields joined, the others listed).
    Tags are padded to Bio.Medline's fixed layout first: exports in the wild write "AU - " as
    often as "AU  - "."""
    lines = []
    for line in record.split("\n"):
        if not line.strip():
            continue  # Bio.Medline ends a record at a blank line
        m = re.match(r"^([A-Z0-9]{2,4}) *- ?(.*)$", line)
        if m:
            line = f"{m.group(1):<4}- {m.group(2).strip()}"
        else:
            line = "      " + line.strip()  # a long field goes on, indented
        lines.append(line + "\n")
    return dict(Medline.read(iter(lines)))


def _texts(fields: dict, tag: str) -> list[str]:
    value = fields.get(tag)
    if value is None:
        return []
    return [value] if isinstance(value, str) else [v for v in value if v]


def parse_medline(text: str) -> list[Citation]:
    """PubMed's own export ("PubMed format", .nbib): every record carries its PMID."""
    citations = []
    for position, record in enumerate(_medline_records(text), start=1):
        fields = _fields(record)
        first = {tag: values[0] for tag in fields if (values := _texts(fields, tag))}

        doi = next((m.group(1) for x in _texts(fields, "LID") + _texts(fields, "AID")
                    for m in _DOI.finditer(x)), None)
        citation = structured(
            str(position), record, position, authors=_texts(fields, "AU"), et_al=False,
            groups=_texts(fields, "CN"), year=first.get("DP"), title=first.get("TI"),
            journal=first.get("TA") or first.get("JT"), volume=first.get("VI"),
            issue=first.get("IP"), pages=first.get("PG"), doi=doi, pmid=first.get("PMID"),
            notes=(first.get("PST"),),
        )
        if citation.pmid:  # the PMID is the link itself; the other fields are for display
            citation = replace(citation, kind="pmid")
        citations.append(citation)
    return citations
