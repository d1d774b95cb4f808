"""How many SMS segments a text takes, per GSM 03.38.

A text in the GSM 7-bit alphabet fits 160 characters in one SMS, 153 per
segment once it must be split (the rest holds the concatenation header).
Characters of the extension table (€, [, ], {, }, ^, ~, |, backslash, form
feed) take two positions: an escape and the character. Any other character
makes the whole text UCS-2: 70 in one SMS, 67 per segment, and characters
outside the Basic Multilingual Plane (most emoji) take two positions.
A split never cuts an escape pair or an emoji in half, so a segment may hold
one position fewer than its maximum.
"""

from dataclasses import dataclass

GSM7 = "GSM-7"
UCS2 = "UCS-2"

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

LIMITS = {
    # encoding: (one SMS, per segment of a longer text)
    GSM7: (160, 153),
    UCS2: (70, 67),
}


@dataclass(frozen=True)
class Segments:
    encoding: str
    count: int
    # Positions used, as a phone's counter shows them: septets for GSM-7,
    # UTF-16 code units for UCS-2.
    characters: int
    # How many positions each segment holds for this text (160 or 153, 70 or 67).
    per_segment: int


def segments(text: str) -> Segments:
    """The encoding and segment count an SMS with this text needs."""
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text):
        encoding = GSM7
        widths = [2 if char in GSM7_EXTENSION else 1 for char in text]
    else:
        encoding = UCS2
        widths = [2 if ord(char) > 0xFFFF else 1 for char in text]
    single, multi = LIMITS[encoding]
    used = sum(widths)
    if used == 0:
        return Segments(encoding, 0, 0, single)
    if used <= single:
        return Segments(encoding, 1, used, single)
    return Segments(encoding, _packed_count(widths, multi), used, multi)


def _packed_count(widths: list[int], capacity: int) -> int:
    count, room = 1, capacity
    for width in widths:
        if width > room:
            count, room = count + 1, capacity
        room -= width
    return count
