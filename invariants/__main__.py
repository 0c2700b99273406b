"""``python -m invariants``: the command line (``invariants.workflows.cli``)."""

from invariants.workflows.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
