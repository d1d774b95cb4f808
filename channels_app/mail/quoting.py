"""Split a reply into what the customer wrote now and the quoted history below it.

Covers the common clients: Gmail and Apple Mail ("On … wrote:", possibly
wrapped over two lines), Outlook ("-----Original Message-----" or a
"From: … Sent: …" block under a rule), and ">" quoting. When nothing matches,
the whole text is the reply: showing too much beats hiding what the customer wrote.
"""

import re

_WROTE = re.compile(
    r"^\s*(On|Am|Le|El|Il|Op|Em)\s.{1,300}?(wrote|schrieb|a écrit|escribió|ha scritto|schreef|escreveu)\s*:\s*$",
    re.IGNORECASE | re.DOTALL,
)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine)\s*-{2,}\s*$", re.I
)
_FORWARDED = re.compile(r"^\s*-{2,}\s*Forwarded message\s*-{2,}\s*$", re.IGNORECASE)
_HEADER_LINE = re.compile(r"^\s*\*?(From|Von|De)\s*:\*?\s", re.IGNORECASE)
_HEADER_FOLLOW = re.compile(r"^\s*\*?(Sent|Date|Gesendet|Envoyé|To|Subject)\s*:", re.IGNORECASE)
_RULE = re.compile(r"^\s*_{10,}\s*$")


def split_reply(text: str) -> tuple[str, str]:
    """(visible_text, quoted_text). Their concatenation is the whole text, modulo whitespace."""
    if not text:
        return "", ""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    cut = _find_cut(lines)
    if cut is None or cut == 0:
        return text.strip(), ""
    visible = "\n".join(lines[:cut]).rstrip()
    quoted = "\n".join(lines[cut:]).strip()
    if not visible.strip():
        return text.strip(), ""
    return visible, quoted


def _find_cut(lines: list[str]) -> int | None:
    for index, line in enumerate(lines):
        if _FORWARDED.match(line):
            # A forward's content is what the customer means to show us.
            return None
        if _ORIGINAL_MESSAGE.match(line):
            return index
        # Gmail wraps a long "On … wrote:" over two (sometimes three) lines.
        for span in (1, 2, 3):
            joined = " ".join(lines[index : index + span])
            if _WROTE.match(joined) and (span == 1 or not lines[index].rstrip().endswith(":")):
                return index
        if _HEADER_LINE.match(line) and _headers_follow(lines, index + 1):
            previous = index - 1
            while previous >= 0 and not lines[previous].strip():
                previous -= 1
            return previous if previous >= 0 and _RULE.match(lines[previous]) else index
        if line.startswith(">") and _rest_is_quoted(lines[index:]):
            return index
    return None


def _headers_follow(lines: list[str], start: int) -> bool:
    return any(_HEADER_FOLLOW.match(line) for line in lines[start : start + 4])


def _rest_is_quoted(lines: list[str]) -> bool:
    """ ">" lines to the end, allowing blank lines and a signature after them."""
    quoted = sum(1 for line in lines if line.startswith(">"))
    unquoted = [line for line in lines if line.strip() and not line.startswith(">")]
    return quoted > 0 and len(unquoted) <= 3


def is_attribution(text: str) -> bool:
    """ "On … wrote:" and its translations: the line a mail client puts above the quoted history."""
    return bool(_WROTE.match(" ".join(text.split())))
