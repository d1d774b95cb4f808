"""An email's HTML made safe to show agents, and its text for when there is no plain part.

nh3 removes scripts, styles, event handlers and unknown URL schemes. A second
pass turns remote images into `data-remote-src` (the agent clicks to load them,
so opening a conversation does not tell the sender it was read) and drops 1×1
tracking pixels.
"""

import html
import re
from html.parser import HTMLParser

import nh3

from . import quoting

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "center", "code", "col", "colgroup", "dd", "del", "div",
    "dl", "dt", "em", "font", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "li", "ol", "p",
    "pre", "q", "s", "small", "span", "strike", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th",
    "thead", "tr", "tt", "u", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "*": {"align", "dir", "lang", "title"},
    "a": {"href", "name"},
    "img": {"src", "alt", "width", "height"},
    "font": {"color", "face", "size"},
    "td": {"colspan", "rowspan", "valign", "width"},
    "th": {"colspan", "rowspan", "valign", "width"},
    "table": {"border", "cellpadding", "cellspacing", "width"},
    "ol": {"start", "type"},
    "blockquote": {"type", "cite"},
}
URL_SCHEMES = {"http", "https", "mailto", "cid", "tel"}
VOID_TAGS = {"br", "hr", "img", "col"}


def sanitise(raw_html: str) -> str:
    cleaned = nh3.clean(
        raw_html,
        tags=ALLOWED_TAGS,
        clean_content_tags={"script", "style", "title", "head"},
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        # A relative URL would load from our own site, with the agent's cookies.
        url_relative="deny",
        strip_comments=True,
        link_rel="noopener noreferrer nofollow",
    )
    rewriter = _ImageRewriter()
    rewriter.feed(cleaned)
    rewriter.close()
    return "".join(rewriter.out)


def _attributes(attrs) -> str:
    return "".join(f' {name}="{html.escape(value or "", quote=True)}"' for name, value in attrs)


def _is_tracking_pixel(attrs: dict) -> bool:
    sizes = [attrs.get("width"), attrs.get("height")]
    return all(size is not None and size.strip().rstrip("px").strip() in ("0", "1") for size in sizes)


class _ImageRewriter(HTMLParser):
    """Re-serialises nh3's (well-formed) output, changing only <img>."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self._image(attrs)
            return
        self.out.append(f"<{tag}{_attributes(attrs)}>")

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if tag not in VOID_TAGS:
            self.out.append(f"</{tag}>")

    def handle_data(self, data):
        self.out.append(html.escape(data, quote=False))

    def _image(self, attrs):
        by_name = dict(attrs)
        if _is_tracking_pixel(by_name):
            return
        kept = []
        for name, value in attrs:
            if name == "data-remote-src":
                continue  # only we set it
            if name == "src" and re.match(r"^https?:", value or "", re.IGNORECASE):
                kept.append(("data-remote-src", value))
            else:
                kept.append((name, value))
        self.out.append(f"<img{_attributes(kept)}>")


BLOCK_TAGS = {"p", "div", "br", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "table", "hr"}


class _TextExtractor(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "head", "title"):
            self.skip += 1
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("script", "style", "head", "title"):
            self.skip = max(0, self.skip - 1)
        elif tag in BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data):
        if not self.skip:
            self.parts.append(re.sub(r"\s+", " ", data))


def to_text(raw_html: str) -> str:
    extractor = _TextExtractor()
    extractor.feed(raw_html)
    extractor.close()
    lines = [line.strip() for line in "".join(extractor.parts).splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class _QuoteCutter(HTMLParser):
    """Re-serialises sanitised HTML up to its first <blockquote> (the quoted history)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.out = []
        self.open = []  # (tag, index in out) of the elements open now
        self.last_block = None  # (start, end) in out of the latest closed <p>/<div>, and its text
        self.cut = None
        self.open_at_cut = []

    def handle_starttag(self, tag, attrs):
        if self.cut is not None:
            return
        if tag == "blockquote":
            self.cut, self.open_at_cut = len(self.out), list(self.open)
            return
        self.out.append(f"<{tag}{_attributes(attrs)}>")
        if tag not in VOID_TAGS:
            self.open.append((tag, len(self.out) - 1))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag):
        if self.cut is not None or tag in VOID_TAGS or not any(name == tag for name, _ in self.open):
            return
        while self.open:
            name, start = self.open.pop()
            self.out.append(f"</{name}>")
            if name == tag:
                break
        if tag in ("p", "div"):
            self.last_block = (start, len(self.out), to_text("".join(self.out[start:])))

    def handle_data(self, data):
        if self.cut is None:
            self.out.append(html.escape(data, quote=False))


def visible_part(sanitised_html: str) -> str:
    """The HTML above the quoted history (the first <blockquote> and an "On … wrote:" line just above it),
    with its open elements closed; "" when there is no <blockquote> to cut at."""
    cutter = _QuoteCutter()
    cutter.feed(sanitised_html)
    cutter.close()
    if cutter.cut is None:
        return ""
    end, still_open = cutter.cut, cutter.open_at_cut
    if cutter.last_block is not None:
        start, block_end, text = cutter.last_block
        between = "".join(cutter.out[block_end:end])
        if not to_text(between) and quoting.is_attribution(text):
            end = start
            still_open = [(name, index) for name, index in still_open if index < start]
    visible = "".join(cutter.out[:end]) + "".join(f"</{name}>" for name, _ in reversed(still_open))
    return visible if to_text(visible) else ""
