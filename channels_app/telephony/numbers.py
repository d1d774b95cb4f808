"""Phone numbers as people type them and as we store them (E.164)."""

import phonenumbers


class InvalidPhoneNumber(ValueError):
    """The text is not a valid phone number."""


def to_e164(text: str, region: str = "US") -> str:
    """The E.164 form of a number typed by a person (national in `region`, or with +country code).

    Raises InvalidPhoneNumber when it cannot be parsed or is not a number that exists."""
    try:
        number = phonenumbers.parse(text, region.upper() if region else None)
    except phonenumbers.NumberParseException as error:
        raise InvalidPhoneNumber(f"{text!r} is not a phone number: {error}") from None
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhoneNumber(f"{text!r} is not a valid phone number.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_number(e164: str) -> str:
    """An E.164 number for people to read, in international format: +1 415-555-0123.

    A value that is not a number (a withheld caller id, say) is shown as it is."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
