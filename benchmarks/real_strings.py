"""Link real reference strings (biblio-glutton's PMC sample, glutton-dev) and score the links.

Usage: python benchmarks/real_strings.py [--data ../shared/corpus/glutton-dev] [--limit N]
           [--rate-limit 3] [--dump out.jsonl]

Serves the set's modelled records together with the real NCBI records (tests/fixtures/corpus/
ncbi-efetch, as distractors) from the stand-in E-utilities server, links references.txt from an
empty cache and database, and scores every reference against key.json as the set's README says:
right = matched to the answer; wrong = matched to anything else, or matched while the answer is
null. Precision = right / matched, recall = right / references with an answer.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pnet_pubmed.config import Settings  # noqa: E402
from pnet_pubmed.pipeline import link  # noqa: E402
from pnet_pubmed.store import Store  # noqa: E402
from tests.eutils_standin import StandinServer  # noqa: E402
from tests.eutils_standin.corpus import NCBI_EFETCH  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "corpus" / "glutton-dev"


def score(rows: list[dict], answer: dict[str, str | None]) -> dict:
    outcome: Counter = Counter(right=0, wrong=0)
    for row in rows:
        truth = answer.get(row["key"])
        if row["status"] == "matched":
            outcome["right" if row["pmid"] == truth else "wrong"] += 1
        elif truth:
            outcome[f"missed_{row['status']}"] += 1
        else:
            outcome[f"null_{row['status']}"] += 1
    matched = outcome["right"] + outcome["wrong"]
    answerable = sum(1 for r in rows if answer.get(r["key"]))
    p = outcome["right"] / matched if matched else 0.0
    r = outcome["right"] / answerable if answerable else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"references": len(rows), "answerable": answerable, "matched": matched,
            "precision": p, "recall": r, "f1": f1, **outcome}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--limit", type=int, default=0, help="only the first N references")
    parser.add_argument("--from-key", type=int, default=0,
                        help="only references from this key on (to measure on strings a model "
                        "trained with --holdout-from KEY never saw)")
    parser.add_argument("--rate-limit", type=float, default=0.0,
                        help="the stand-in's requests/s (NCBI: 3); 0 for none")
    parser.add_argument("--dump", type=Path, help="write every reference's outcome here (JSONL)")
    parser.add_argument("--model", type=Path,
                        help="a labeller model to use instead of the shipped one (e.g. one "
                        "trained by tools/train_reference_model.py --holdout-from KEY)")
    args = parser.parse_args()

    if args.model:
        from pnet_pubmed.references import labeller

        labeller._default = labeller.Labeller(str(args.model))
    answer = json.loads((args.data / "key.json").read_text())["answer"]
    lines = (args.data / "references.txt").read_text(encoding="utf-8").splitlines()
    if args.from_key:
        lines = [ln for ln in lines if int(ln.split(".", 1)[0]) >= args.from_key]
    if args.limit:
        lines = lines[: args.limit]
    corpus = [args.data / "records.xml", *sorted(NCBI_EFETCH.glob("*.xml"))]
    with tempfile.TemporaryDirectory() as tmp, StandinServer(
        corpus, rate_limit=args.rate_limit or None
    ) as server:
        source = Path(tmp) / "references.txt"
        source.write_text("\n".join(lines) + "\n", encoding="utf-8")
        settings = Settings(db_url=f"sqlite:///{tmp}/db.sqlite", cache_dir=Path(tmp) / "cache",
                            eutils_url=server.url, email="benchmark@example.org",
                            requests_per_second=args.rate_limit or 1000.0)
        started = time.perf_counter()
        summary = link(source, "glutton-dev", settings)
        seconds = time.perf_counter() - started
        rows = Store(settings.db_url).references("glutton-dev")
    result = score(rows, answer)
    d = summary.as_dict()
    print(f"references {result['references']} (with an answer {result['answerable']}), "
          f"matched {result['matched']}")
    print(f"precision {100 * result['precision']:.2f}%  recall {100 * result['recall']:.2f}%  "
          f"F1 {100 * result['f1']:.2f}%  right {result['right']}  wrong {result['wrong']}")
    print("outcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(result.items())
                                   if k.startswith(("missed_", "null_")))  # noqa: E501
          )
    print(f"requests {d['requests_sent']} {d['by_endpoint']}, {seconds:.1f} s")
    if args.dump:
        with args.dump.open("w", encoding="utf-8") as out:
            for row in rows:
                truth = answer.get(row["key"])
                row = {k: row.get(k) for k in ("key", "status", "pmid", "candidates", "method",
                                               "notes", "score", "reason", "raw")}
                row["truth"] = truth
                row["verdict"] = ("right" if row["status"] == "matched" and row["pmid"] == truth
                                  else "wrong" if row["status"] == "matched" else
                                  "missed" if truth else "ok_none")
                out.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
