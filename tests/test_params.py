"""The one parser of numbers from forms and query strings (app/platform/params.py): bounded to
SQL INTEGER, the type of every key, so that no number reaches the database out of range."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from app.platform.params import INTEGER_MAX, INTEGER_MIN, int_or_none, page_number


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("42", 42),
        ("-7", -7),
        (str(INTEGER_MAX), INTEGER_MAX),
        (str(INTEGER_MIN), INTEGER_MIN),
        (str(INTEGER_MAX + 1), None),
        ("3000000000", None),
        ("1" * 25, None),
        ("abc", None),
        ("4.5", None),
    ],
)
def test_int_or_none(value: str | None, expected: int | None) -> None:
    assert int_or_none(value) == expected


def test_a_form_that_refuses_garbage_gets_a_number_that_matches_nothing() -> None:
    assert int_or_none("abc", invalid=0) == 0
    assert int_or_none("9" * 25, invalid=0) == 0
    assert int_or_none("", invalid=0) is None


def test_page_number() -> None:
    assert page_number(None, last=10) == 1
    assert page_number("3", last=10) == 3
    assert page_number("-3", last=10) == 1
    assert page_number("99", last=10) == 10
    assert page_number("9" * 30, last=10) == 1


@pytest.mark.parametrize("value", ["3000000000", "1" * 25, "-3000000000"])
def test_inbox_filters_out_of_the_key_range_are_ignored(
    agent_a_client: FlaskClient, value: str
) -> None:
    for name in ("agent", "motif", "impot"):
        response = agent_a_client.get(f"/agent/demandes/?{name}={value}")
        assert response.status_code == 200, (name, value)


def test_unicode_digits_in_a_fab_key_are_not_numbers() -> None:
    """``"¹".isdigit()`` is True but ``int("¹")`` fails: the guard must not answer 500."""
    from app.fab.guard import _past_the_keys

    assert _past_the_keys("¹") is False and _past_the_keys("²³") is False
    assert _past_the_keys("99999999999") is True and _past_the_keys("12") is False
