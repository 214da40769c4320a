"""docs/cost.md must keep naming every source the catalog relies on."""

from __future__ import annotations

from support import PROJECT_DIR


def test_every_catalog_source_address_is_in_the_docs() -> None:
    from airlock.cost.catalog import load_catalog

    docs = (PROJECT_DIR / "docs" / "cost.md").read_text()
    missing = [s.url for key, s in load_catalog().sources.items() if key != "reference" and s.url not in docs]
    assert not missing, f"docs/cost.md does not list these sources: {missing}"
    assert "REFERENCE.md" in docs
