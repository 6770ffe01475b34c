"""Calibrate the supported-answer decision (min_support, coverage_weight, unknown_weight) on dev splits.

    python bench/calibrate_support.py                                  # policy set + laws set, pooled
    python bench/calibrate_support.py --only eval                      # one set

Pools the dev questions of several eval sets, each searched in its own index, so the thresholds hold
across corpora rather than fitting one. Write the printed values into rag/support.py (`CALIBRATED`, under the embedder's name).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rag.answer import calibrate_support, load_calibration_questions  # noqa: E402
from rag.config import load_settings  # noqa: E402
from rag.pipeline import open_searcher  # noqa: E402

SETS = {"eval": "index/default", "eval/laws": "index/laws"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=sorted(SETS), help="calibrate on one set")
    parser.add_argument("--split", default="dev", choices=("dev",), help="calibration never sees test")
    args = parser.parse_args()
    sets = {args.only: SETS[args.only]} if args.only else SETS
    pooled = []
    for set_dir, index_dir in sets.items():
        questions = load_calibration_questions([ROOT / set_dir / "queries.jsonl"], split=args.split)
        retriever = open_searcher(load_settings(index_dir=str(ROOT / index_dir)))
        pooled.append((questions, retriever))
        print(f"{set_dir}: {sum(a for _, a in questions)} answerable, {sum(not a for _, a in questions)} "
              f"unanswerable ({index_dir})")
    calibration = calibrate_support(pooled)
    print(calibration.thresholds)
    print(f"declined unanswerable {calibration.declined_unanswerable:.3f}, "
          f"wrongly declined answerable {calibration.wrongly_declined:.3f}")


if __name__ == "__main__":
    main()
