#!/usr/bin/env bash
# One entry point that sets everything up on a fresh machine and runs the suite.
#   ./run.sh report [args]   the main job: the theory report (python -m invariants report)
#   ./run.sh test [args]     the test suite: pytest -n auto (extra args go to pytest); ./run.sh alone runs it
#   ./run.sh sim [args]      one default simulation with a readable summary (python -m sim)
#   ./run.sh hunt|boundary|replay|check|power|atlas|implied|claims [args]   the other python -m invariants commands
#   ./run.sh bench [args]    the benchmarks (steps per second, exact GD to t = 10^8, the frozen step's floor,
#                            auto against span, configurations in lanes, then the engines over n and m
#                            against JAX peers; installs the optional .[bench] extra, jax, when missing)
#   ./run.sh --help | --version   this text (and each command's own help once set up: ./run.sh hunt --help)
# Set-up (idempotent): a virtual environment in .venv, torch==2.13.0 first (the CPU build), then the
# project with its dependencies at the exact versions of constraints.txt.  Redone only when pyproject.toml or
# constraints.txt changes.
set -euo pipefail
cd "$(dirname "$0")"
usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'; }
case "${1:-}" in
  -h|--help|help)
    usage
    if [ -x .venv/bin/python ]; then echo; .venv/bin/python -m invariants --help; fi
    echo; echo "exit codes: those of the command run (python -m invariants --help lists them); 2 for an unknown command"
    exit 0 ;;
esac
PY=${PYTHON:-python3}
exec 9>.setup.lock  # two ./run.sh at once: the second waits for the first's set-up
flock 9
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -c constraints.txt torch==2.13.0
  .venv/bin/python -m pip install -q -c constraints.txt -e ".[dev]"
  rm -f .venv/.installed-* && touch "$stamp"
fi
flock -u 9
cmd=${1:-test}
shift || true
case "$cmd" in
  --version) exec .venv/bin/python -m invariants --version ;;
  report|hunt|boundary|replay|check|power|atlas|implied|claims) exec .venv/bin/python -m invariants "$cmd" "$@" ;;
  test)   exec .venv/bin/python -m pytest -n auto "$@" ;;
  sim)    exec .venv/bin/python -m sim "$@" ;;
  bench)  flock 9  # jax (~600 MB) only for benchmarks/scaling.py; the suite never imports it
          if ! .venv/bin/python -c "import importlib.util, sys; sys.exit(importlib.util.find_spec('jax') is None)"; then
            .venv/bin/python -m pip install -q -c constraints.txt -e ".[bench]"
          fi
          flock -u 9
          .venv/bin/python benchmarks/steps_per_second.py "$@" && .venv/bin/python benchmarks/long_horizon.py \
            && .venv/bin/python benchmarks/frozen_floor.py \
            && .venv/bin/python benchmarks/auto_sweep.py && .venv/bin/python benchmarks/lanes_estimate.py \
            && exec .venv/bin/python benchmarks/scaling.py ;;
  *) echo "./run.sh: unknown command '$cmd'" >&2
     echo "usage: ./run.sh {report|test|sim|hunt|boundary|replay|check|power|atlas|implied|claims|bench|--help|--version} [args]" >&2; exit 2 ;;
esac
