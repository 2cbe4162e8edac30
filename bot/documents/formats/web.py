""".html: the main content of a web page (title, headings, paragraphs, lists, table rows) without menus,
scripts, side bars and footers. One streaming parse (libxml2), refused past knowledge.max_html_depth, then
walks that never revisit a subtree, so time grows with the size of the page only."""

from __future__ import annotations

import io
import re
from pathlib import Path

from bot.documents.formats.base import Extraction, FormatError
from bot.documents.limits import Limits, over_chars

_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "svg", "canvas", "form", "button", "select",
              "input", "textarea", "nav", "aside", "footer", "object", "embed", "link", "meta", "head")
_DROP_ROLES = {"navigation", "banner", "contentinfo", "complementary", "search", "menu", "menubar"}
_CLUTTER = {"nav", "navbar", "menu", "breadcrumb", "breadcrumbs", "footer", "sidebar", "social", "share",
            "sharing", "comment", "comments", "banner", "advert", "ads", "ad", "cookie", "related", "popup",
            "modal", "widget", "toolbar", "search", "login", "subscribe", "tags", "topbar", "masthead", "logo"}
_BLOCK_TAGS = {"p", "div", "section", "article", "main", "header", "blockquote", "pre", "figure", "figcaption",
               "dl", "dt", "dd", "address", "center", "body", "ul", "ol", "li", "table", "hr",
               "h1", "h2", "h3", "h4", "h5", "h6"}
_HEADINGS = ("h1", "h2", "h3", "h4", "h5", "h6")
MAX_ELEMENTS = 200_000  # a long news page has a few thousand; each costs about 0.5 KB once parsed
_BR = "\ue000"  # a <br> while whitespace is collapsed
_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)


def extract_html(path: Path, limits: Limits) -> Extraction:
    """Title, headings ("#" lines), paragraphs, list items and table rows of the main content; menus,
    navigation, scripts, side bars and footers are dropped."""
    data = path.read_bytes()
    root = _parse(data, limits)
    meta = _html_meta(root)
    for br in root.iter("br"):
        br.tail = _BR + (br.tail or "")
    _remove_clutter(root)
    content = _main_content(root)
    if content is None:
        raise FormatError("HTML page has no body text")
    h1 = next((h for h in content.iter("h1") if _text(h).strip()), None)
    if h1 is not None:
        meta["title"] = " ".join(_text(h1, " ").replace(_BR, " ").split())
    blocks: list[str] = []
    _html_blocks(content, blocks, _with_blocks(content))
    text = "\n\n".join(blocks)
    if len(text) > limits.max_chars:
        raise FormatError(over_chars(len(text), limits))
    return Extraction(text, meta)


def _encoding(data: bytes) -> str | None:
    """UTF-8 when the bytes are UTF-8 (most pages, with or without a <meta charset>); else what the page
    declares; else None (libxml2 guesses)."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    m = _CHARSET_RE.search(data[:8192])
    if m:
        name = m.group(1).decode("ascii", "replace")
        try:
            "".encode(name)
            return name
        except LookupError:
            return None
    return None


def _parse(data: bytes, limits: Limits):
    """The page as an lxml tree, refused as soon as elements nest deeper than the limit."""
    from lxml import etree

    depth = elements = chars = 0
    events = etree.iterparse(io.BytesIO(data), events=("start", "end"), html=True, recover=True,
                             encoding=_encoding(data), no_network=True, remove_comments=True, remove_pis=True)
    try:
        for event, element in events:
            if event == "end":
                depth -= 1
                chars += len(element.text or "") + len(element.tail or "")
                if chars > 2 * limits.max_chars:  # menus and scripts included: twice the limit on the text
                    raise FormatError(over_chars(chars, limits) + " (HTML)")
                continue
            depth += 1
            elements += 1
            if elements > MAX_ELEMENTS:
                raise FormatError(f"HTML page has more than {MAX_ELEMENTS:,} elements; not a readable page")
            if depth > limits.max_html_depth:
                raise FormatError(f"HTML elements are nested more than {limits.max_html_depth} deep "
                                  f"(knowledge.max_html_depth); not a readable page")
    except etree.XMLSyntaxError as exc:
        raise FormatError(f"damaged HTML ({exc})") from None
    root = events.root
    if root is None:
        raise FormatError("HTML page has no body text")
    return root


def _text(element, sep: str = "") -> str:
    return sep.join(element.itertext())


def _drop(element) -> None:
    """Remove an element and its subtree, keeping the text that follows it."""
    parent = element.getparent()
    if parent is None:
        return
    tail = element.tail or ""
    if tail:
        previous = element.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail
    parent.remove(element)


def _remove_clutter(root) -> None:
    """Scripts, navigation, side bars, footers, ... go; a removed element's subtree is never visited."""
    stack = [root]
    while stack:
        element = stack.pop()
        if element is not root and (element.tag in _DROP_TAGS or _is_clutter(element)):
            _drop(element)
            continue
        stack.extend(reversed([c for c in element if isinstance(c.tag, str)]))


def _is_clutter(tag) -> bool:
    if tag.tag in ("body", "html", "main", "article"):
        return False
    if (tag.get("role") or "").lower() in _DROP_ROLES or tag.get("aria-hidden") == "true":
        return True
    names = (tag.get("class") or "") + " " + (tag.get("id") or "")
    tokens = set(re.split(r"[\s_\-]+", names.lower()))
    if tag.tag == "header":
        return next(tag.iter("h1"), None) is None  # a site header (logo, menu), not an article's header
    return bool(tokens & _CLUTTER)


def _main_content(root):
    articles = list(root.iter("article"))
    if articles:
        return max(articles, key=lambda a: len(" ".join(t.strip() for t in a.itertext() if t.strip())))
    for element in root.iter("main"):
        return element
    for element in root.iter():
        if element.get("role") == "main":
            return element
    body = root.find("body")
    return body if body is not None else root


def _html_meta(root) -> dict[str, str]:
    """Title, canonical address, publication date and site name from <head>; news by default."""
    metas: dict[tuple[str, str], str] = {}
    for tag in root.iter("meta"):
        content = (tag.get("content") or "").strip()
        for attr in ("property", "name", "itemprop"):
            value = tag.get(attr)
            if value and content:
                metas.setdefault((attr, value), content)

    def content(*selectors: tuple[str, str]) -> str:
        return next((metas[s] for s in selectors if s in metas), "")

    meta: dict[str, str] = {}
    title_tag = next(root.iter("title"), None)
    title = content(("property", "og:title")) or (_text(title_tag).strip() if title_tag is not None else "")
    if title:
        meta["title"] = title
    canonical = next((link for link in root.iter("link") if (link.get("rel") or "").lower() == "canonical"), None)
    url = (canonical.get("href") if canonical is not None else "") or content(("property", "og:url"))
    if url and url.startswith(("http://", "https://")):
        meta["source_url"] = url
    published = content(("property", "article:published_time"), ("name", "pubdate"),
                        ("name", "publishdate"), ("itemprop", "datePublished"), ("name", "date"))
    if re.match(r"\d{4}-\d{2}-\d{2}", published):
        meta["issued"] = published[:10]
    site = content(("property", "og:site_name"))
    if site:
        meta["issuer"] = site
    meta["doc_type"] = "tin-tuc"  # a web page is a news article unless its text has a document header
    return meta


def _with_blocks(root) -> set:
    """Elements holding a block element somewhere below them, found in one pass from the leaves up."""
    holders: set = set()
    for element in reversed(list(root.iter())):
        parent = element.getparent()
        if parent is not None and (element.tag in _BLOCK_TAGS or element in holders):
            holders.add(parent)
    return holders


def _html_blocks(node, out: list[str], holders: set) -> None:
    buf: list[str] = [node.text or ""]

    def flush() -> None:
        text = " ".join("".join(buf).split())
        text = "\n".join(part.strip() for part in text.split(_BR) if part.strip())
        if text:
            out.append(text)
        buf.clear()

    for child in node:
        name = child.tag if isinstance(child.tag, str) else ""
        if name in _HEADINGS:
            flush()
            text = " ".join(_text(child, " ").replace(_BR, " ").split())
            if text:
                out.append("#" * int(name[1]) + " " + text)
        elif name == "table":
            flush()
            out.extend(_table_rows(child))
        elif name in ("ul", "ol"):
            flush()
            _list_items(child, name, out, holders)
        elif name in _BLOCK_TAGS or child in holders:
            flush()
            _html_blocks(child, out, holders)
        elif name:
            buf.append(_text(child))
        buf.append(child.tail or "")
    flush()


def _table_rows(table) -> list[str]:
    rows = []
    for tr in table.iter("tr"):
        cells = [" ".join(_text(c, " ").replace(_BR, " ").split()) for c in tr if c.tag in ("td", "th")]
        cells = [c for c in cells if c]
        if cells:
            rows.append(" | ".join(cells))
    return rows


def _list_items(element, name: str, out: list[str], holders: set) -> None:
    items = [li for li in element if li.tag == "li"]
    for n, li in enumerate(items, 1):
        sub: list[str] = []
        _html_blocks(li, sub, holders)
        if sub:
            marker = f"{n}." if name == "ol" else "-"
            out.append(f"{marker} {sub[0]}")
            out.extend(sub[1:])
