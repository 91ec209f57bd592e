"""Precision, recall and F1 of feed extraction on the labelled set in ``tests/data``.

Run: ``python -m tests.benchmarks.eval_extraction [--split dev|held_out|all] [--errors]``.

A predicted statement counts as right only when actor, topic and stance all match a labelled one.
Figures are printed for the whole set and for each half: the rules were tuned looking only at the
``dev`` half, so the ``held_out`` half is the honest estimate of how they generalise.
"""

import argparse
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from service.feeds.extract import ExtractionCatalog, extract_statements
from service.feeds.items import FeedItem, sha256_hex

LABELLED = Path(__file__).resolve().parents[1] / "data" / "extraction_labelled.jsonl"
Triple = tuple[str, str, str]


@dataclass
class Score:
    true_positives: int = 0
    false_positives: int = 0
    false_negatives: int = 0
    items: int = 0

    @property
    def precision(self) -> float:
        predicted = self.true_positives + self.false_positives
        return self.true_positives / predicted if predicted else 1.0

    @property
    def recall(self) -> float:
        expected = self.true_positives + self.false_negatives
        return self.true_positives / expected if expected else 1.0

    @property
    def f1(self) -> float:
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0

    def line(self, name: str) -> str:
        return (
            f"{name:<9} items {self.items:>3}  TP {self.true_positives:>3}  "
            f"FP {self.false_positives:>3}  FN {self.false_negatives:>3}  "
            f"precision {self.precision:.3f}  recall {self.recall:.3f}  F1 {self.f1:.3f}"
        )


def load(path: Path = LABELLED) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def to_item(record: dict) -> FeedItem:
    return FeedItem(
        guid_hash=sha256_hex("guid:" + record["id"]),
        guid=record["id"],
        link=record["link"],
        title=record["title"],
        text=record["text"],
        published_at=datetime.fromisoformat(record["published_at"]),
    )


def predict(record: dict, catalog: ExtractionCatalog) -> tuple[set[Triple], list[str]]:
    result = extract_statements(
        to_item(record),
        catalog=catalog,
        feed_id="labelled-set",
        publisher=record["feed_title"],
        observed_at=datetime(2030, 1, 1, tzinfo=UTC),
    )
    triples = {
        (s.command.actor_id, s.command.topic_id, str(s.command.stance)) for s in result.statements
    }
    explanation = [" | ".join(s.explanation[1:]) for s in result.statements]
    return triples, explanation + [f"note: {note}" for note in result.notes]


def evaluate(records: list[dict], *, show_errors: bool) -> dict[str, Score]:
    catalog = ExtractionCatalog.demo()
    scores = {"all": Score(), "dev": Score(), "held_out": Score()}
    for record in records:
        expected = {(e["actor_id"], e["topic_id"], e["stance"]) for e in record["expected"]}
        predicted, explanation = predict(record, catalog)
        for name in ("all", record["split"]):
            score = scores[name]
            score.items += 1
            score.true_positives += len(predicted & expected)
            score.false_positives += len(predicted - expected)
            score.false_negatives += len(expected - predicted)
        if show_errors and predicted != expected:
            print(f"\n{record['id']} [{record['split']}] {record['hard_case'] or ''}")
            print(f"  {record['title']} / {record['text']}")
            print(f"  expected {sorted(expected)}\n  got      {sorted(predicted)}")
            for line in explanation:
                print(f"    {line}")
    return scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--split", choices=["dev", "held_out", "all"], default="all")
    parser.add_argument("--errors", action="store_true", help="print each wrong item")
    args = parser.parse_args()
    records = [r for r in load() if args.split in ("all", r["split"])]
    scores = evaluate(records, show_errors=args.errors)
    print(f"labelled set: {LABELLED.name}, {len(records)} items")
    for name in ("all", "dev", "held_out"):
        if scores[name].items:
            print(scores[name].line(name))


if __name__ == "__main__":
    main()
