"""Metadata of a document (YAML front matter, a sidecar name.yaml, a .jsonl record) read safely: no YAML
aliases (an alias bomb expands a few hundred bytes into gigabytes), bounded size, and every field a plain
value or a short list of plain values."""

from __future__ import annotations

import datetime as dt

import yaml

from bot.documents.limits import MAX_FIELD_CHARS, MAX_LIST_ITEMS, MAX_METADATA_BYTES

_SCALARS = (str, int, float, bool, dt.date)
_MAX_KEY_CHARS = 64


class MetadataError(ValueError):
    """The metadata cannot be used; the message is the one-line reason."""


class NoAliasLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses aliases ("*name") instead of expanding them."""

    def compose_node(self, parent, index):  # noqa: ANN001 - PyYAML's signature
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed in metadata",
                                              event.start_mark)
        return super().compose_node(parent, index)


def load_yaml(text: str, line_offset: int = 1) -> dict:
    """The mapping in `text`; raises MetadataError naming the problem (and its line, counted from
    `line_offset`)."""
    size = len(text.encode("utf-8"))
    if size > MAX_METADATA_BYTES:
        raise MetadataError(f"metadata is {size:,} bytes, more than {MAX_METADATA_BYTES:,}")
    try:
        data = yaml.load(text, Loader=NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + line_offset}" if mark is not None else ""
        raise MetadataError(f"invalid YAML{at}: {getattr(exc, 'problem', None) or exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise MetadataError("must be a mapping of fields (id: ..., title: ...)")
    check_fields(data)
    return data


def check_fields(meta: dict) -> None:
    """Every key is a short name; every value a plain value (text, number, date, yes/no) or a short flat list
    of them, each text at most MAX_FIELD_CHARS characters. Raises MetadataError."""
    for key, value in meta.items():
        if not isinstance(key, str) or not key or len(key) > _MAX_KEY_CHARS:
            raise MetadataError(f"field name {str(key)[:_MAX_KEY_CHARS]!r} is not a short name")
        if isinstance(value, list):
            if len(value) > MAX_LIST_ITEMS:
                raise MetadataError(f"field '{key}' lists {len(value):,} values, more than {MAX_LIST_ITEMS}")
            for item in value:
                _check_value(key, item)
        else:
            _check_value(key, value)


def _check_value(key: str, value: object) -> None:
    if value is None:
        return
    if not isinstance(value, _SCALARS):
        raise MetadataError(f"field '{key}' must be text, a number, a date or a list of these, "
                            f"got {type(value).__name__}")
    if isinstance(value, str) and len(value) > MAX_FIELD_CHARS:
        raise MetadataError(f"field '{key}' is {len(value):,} characters long, more than {MAX_FIELD_CHARS:,}")
