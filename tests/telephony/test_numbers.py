import pytest

from channels_app.telephony.numbers import InvalidPhoneNumber, format_number, to_e164


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("(415) 555-2671", "US", "+14155552671"),
        ("415.555.2671", "us", "+14155552671"),
        ("+44 20 7946 0958", "US", "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("030 901820", "DE", "+4930901820"),
    ],
)
def test_to_e164_reads_what_people_type(text, region, expected):
    assert to_e164(text, region) == expected


@pytest.mark.parametrize("text", ["", "hello", "123", "+1 555 0100", "+999 1234567"])
def test_to_e164_refuses_what_is_not_a_number(text):
    with pytest.raises(InvalidPhoneNumber):
        to_e164(text, "US")


def test_format_number_is_international():
    assert format_number("+14155552671") == "+1 415-555-2671"
    assert format_number("+442079460958") == "+44 20 7946 0958"


def test_format_number_leaves_what_is_not_a_number_alone():
    assert format_number("anonymous") == "anonymous"
