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
