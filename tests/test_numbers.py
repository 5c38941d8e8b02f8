"""Whole numbers from client text (tracker/numbers.py): the API's obligation ids, the
staff forms' obligation field, the admin's posted versions."""

import pytest

from tracker.numbers import whole_number


@pytest.mark.parametrize("text, number", [
    ("0", 0), ("42", 42), (17, 17), (str(2**63 - 1), 2**63 - 1),
    ("", None), ("-1", None), ("1.0", None), (" 1", None), ("abc", None),
    ("\u00b2", None), ("\u0663", None),  # digits to str.isdigit, not to int() or to us
    (str(2**63), None),  # beyond a bigint: names no row
])
def test_only_ascii_digits_within_a_bigint_are_numbers(text, number):
    assert whole_number(text) == number
