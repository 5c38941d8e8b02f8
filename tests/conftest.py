"""Shared fixtures: the November 2020 agreement loaded through the real loader."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NOV_2020 = FIXTURES / "nov-2020-trilateral.yaml"


@pytest.fixture
def nov2020(db):
    """The November 2020 statement, loaded from its file (not yet swept)."""
    from tracker.loader import load_agreement_file

    return load_agreement_file(NOV_2020)
