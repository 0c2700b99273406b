"""Compare the claim sections of margins JSON files (``--margins-json``): exit 1 listing every difference.

    python .ci/compare_claims.py A.json B.json [C.json ...]

Everything the claims table is built from must be identical: per claim, tried / held / outcomes, the
worst margin and where and on what configuration it was taken, the implied-constant ranges, the verdict.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def claims(path: Path) -> dict:
    return json.loads(path.read_text())["claims"]


def differences(a: dict, b: dict) -> list[str]:
    out = [f"{cid}: only in the first" for cid in sorted(set(a) - set(b))]
    out += [f"{cid}: only in the second" for cid in sorted(set(b) - set(a))]
    for cid in sorted(set(a) & set(b)):
        for key in sorted(set(a[cid]) | set(b[cid])):
            if a[cid].get(key) != b[cid].get(key):
                out.append(f"{cid}.{key}: {a[cid].get(key)!r} != {b[cid].get(key)!r}")
    return out


def main(paths: list[str]) -> int:
    if len(paths) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    first, *rest = map(Path, paths)
    base = claims(first)
    bad = 0
    for other in rest:
        diff = differences(base, claims(other))
        bad += bool(diff)
        print(f"{first} vs {other}: " + ("identical claim sections" if not diff else f"{len(diff)} differences"))
        for line in diff:
            print("  " + line)
    print(f"{len(base)} claim rows compared")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
