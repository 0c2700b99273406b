"""The registry covers the catalogue: every ID has an invariant, a property test and a falsifiability
test, or a written reason why it cannot be checked yet."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from invariants import CLAIMS, MEASURED_PARTS, load_all
from invariants.workflows.claims_page import marked_tests as find_marked_tests

CATALOGUE = Path(__file__).resolve().parents[3] / "shared" / "claims.md"


def catalogue_ids() -> list[str]:
    if not CATALOGUE.exists():
        pytest.skip(f"catalogue not found at {CATALOGUE}")
    return re.findall(r"^\| ((?:KCG|FVB|ST)-[A-Za-z0-9.]+) ", CATALOGUE.read_text(), flags=re.M)


def marked_tests() -> dict[str, set[str]]:
    """claim ID -> names of the test functions marked with it ("<name>+falsify" when also falsify)."""
    out: dict[str, set[str]] = {}
    for t in find_marked_tests():
        out.setdefault(t.claim, set()).add(t.name + ("+falsify" if t.falsify else ""))
    return out


def test_every_catalogue_id_is_registered() -> None:
    load_all()
    missing = [cid for cid in catalogue_ids() if cid not in CLAIMS]
    assert not missing, f"catalogue IDs with no registry entry: {missing}"


def test_registry_entries_carry_their_provenance() -> None:
    for cid, c in load_all().items():
        assert c.paper in ("KCG", "FVB", "ST"), cid
        assert c.where and c.statement, cid
        if c.status == "unchecked":
            assert c.reason, cid


@pytest.mark.parametrize("cid", sorted(load_all()))
def test_every_claim_has_a_property_test_and_a_falsifiability_test(cid: str) -> None:
    c = CLAIMS[cid]
    if c.status == "unchecked":
        pytest.skip(f"{cid} is unchecked: {c.reason}")
    tests = marked_tests().get(cid, set())
    if c.expected == "fails":  # a reading declared false: its test is the counterexample itself
        assert tests, f"{cid}: no test shows the declared counterexample"
        return
    assert any(not t.endswith("+falsify") for t in tests), f"{cid}: no property test marked with it"
    assert any(t.endswith("+falsify") for t in tests), f"{cid}: no falsifiability test marked with it"


def test_measured_parts_name_registered_parents() -> None:
    load_all()
    for part in MEASURED_PARTS:
        assert part.split(":")[0] in CLAIMS, part


def test_every_declared_constant_says_where_it_comes_from() -> None:
    """Claim.sources: one entry per declared constant, tagged paper / measured / choice."""
    from invariants._internal.claim import SOURCE_TAGS

    missing = {cid: sorted(set(c.declared) - set(c.sources)) for cid, c in load_all().items()
               if set(c.declared) - set(c.sources)}
    assert not missing, missing
    assert all(v.startswith(SOURCE_TAGS) for c in load_all().values() for v in c.sources.values())


def test_a_source_must_be_tagged_and_name_a_declared_constant() -> None:
    from invariants import Claim

    with pytest.raises(ValueError, match="must start with one of"):
        Claim(id="X-1", paper="X", where="-", kind="exact", statement="-", declared={"c": 1.0},
              sources={"c": "a guess"})
    with pytest.raises(ValueError, match="not declared constants"):
        Claim(id="X-1", paper="X", where="-", kind="exact", statement="-", declared={"c": 1.0},
              sources={"k": "choice: x"})


def test_docs_constants_is_the_registry_table() -> None:
    """docs/constants.md is generated (python -m invariants claims --constants > docs/constants.md)."""
    from pathlib import Path

    from invariants.workflows.claims_page import constants_table

    doc = Path(__file__).resolve().parents[2] / "docs" / "constants.md"
    assert doc.read_text() == constants_table(), "regenerate: python -m invariants claims --constants > " + str(doc)
