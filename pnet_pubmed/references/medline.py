"""PubMed's own export (MEDLINE / "PubMed format", .nbib): every record carries its PMID."""

from __future__ import annotations

import re
from dataclasses import replace

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


def parse_medline(text: str) -> list[Citation]:
    """PubMed's own export ("PubMed format", .nbib): every record carries its PMID."""
    citations = []
    for position, record in enumerate(_medline_records(text), start=1):
        fields: dict[str, list[str]] = {}
        tag = None
        for line in record.split("\n"):
            m = re.match(r"^([A-Z0-9]{2,4}) *- (.*)$", line)
            if m:
                tag = m.group(1)
                fields.setdefault(tag, []).append(m.group(2).strip())
            elif tag and line.startswith(" "):  # a long field goes on, indented
                fields[tag][-1] += " " + line.strip()
        first = {k: v[0] for k, v in fields.items()}
        doi = next((x.split(" [")[0] for x in fields.get("LID", []) + fields.get("AID", [])
                    if x.endswith("[doi]")), None)
        citation = structured(
            str(position), record, position, authors=fields.get("AU", []), et_al=False,
            groups=fields.get("CN", []), year=first.get("DP"), title=first.get("TI"),
            journal=first.get("TA") or first.get("JT"), volume=first.get("VI"),
            issue=first.get("IP"), pages=first.get("PG"), doi=doi, pmid=first.get("PMID"),
            notes=(first.get("PST"),),
        )
        if citation.pmid:  # the PMID is the link itself; the other fields are for display
            citation = replace(citation, kind="pmid")
        citations.append(citation)
    return citations
