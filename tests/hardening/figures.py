"""Print the hardening corpus's figures: variants tried and passed per family.

    PYTHONPATH=src python tests/hardening/figures.py

Runs the same checks as the in-process tests of this folder (configs, data files, live bars).
The signal tries run real processes: ``pytest tests/hardening/test_signals.py -v`` lists them.
"""
from __future__ import annotations

import logging
import sys
import tempfile
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from checks import check_config, check_data, check_live_bars, run_checks  # noqa: E402
from config_corpus import config_variants  # noqa: E402
from data_corpus import data_variants, live_bars  # noqa: E402


def _tally(kind: str, variants: list, check) -> tuple[Counter, Counter]:
    tried, passed = Counter(), Counter()
    with tempfile.TemporaryDirectory() as root:
        for variant, problem in run_checks(variants, check, Path(root)):
            tried[variant.family] += 1
            if problem is None:
                passed[variant.family] += 1
            else:
                print(f"FAILED {kind} {variant.family}: {variant.name[:80]}: {problem[:200]}")
    return tried, passed


def main() -> int:
    logging.disable(logging.ERROR)  # the warnings the variants cause are what is being tested
    lines, failed = [], 0
    for kind, variants, check in (("configs", config_variants(), check_config),
                                  ("data", data_variants(), check_data)):
        tried, passed = _tally(kind, variants, check)
        failed += sum(tried.values()) - sum(passed.values())
        families = ", ".join(f"{f} {passed[f]}/{tried[f]}" for f in tried)
        lines.append(f"{kind}: {sum(passed.values())} of {sum(tried.values())} variants passed "
                     f"({families})")
    bad = live_bars()
    live_failures = check_live_bars(bad)
    failed += len(live_failures)
    lines.append(f"live bars: {len(bad) - len(live_failures)} of {len(bad)} invalid bars dropped "
                 "and reported")
    print("\n".join(lines))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
