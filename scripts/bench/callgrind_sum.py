"""Add up the instructions of callgrind dumps (``measure_writes.py`` under callgrind, CALLGRIND=1).

    python scripts/bench/callgrind_sum.py callgrind.out.PID.*

Prints the number of dumps and the median and mean instructions (Ir) per dump: one dump per
measured request, a count that does not depend on the machine's load.
"""

from __future__ import annotations

import statistics
import sys


def instructions(path: str) -> int:
    with open(path, encoding="utf-8", errors="replace") as dump:
        for line in dump:
            if line.startswith(("summary:", "totals:")):
                return int(line.split()[1])
    return 0


def main() -> int:
    counts = [instructions(path) for path in sys.argv[1:]]
    counts = [count for count in counts if count]
    if not counts:
        print("No dump with a total.")
        return 1
    print(
        f"{len(counts)} dumps: median {statistics.median(counts) / 1e6:.1f} M instructions, "
        f"mean {statistics.mean(counts) / 1e6:.1f} M"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
