"""config.yaml: loaded once into typed dataclasses and validated at start-up."""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml


class ConfigError(Exception):
    """The configuration cannot be used; the message names the file, the key and the reason."""


@dataclass
class KnowledgeConfig:
    dir: Path = Path("knowledge")
    max_file_mb: float = 20.0
    # what one document may cost to read (docs/limits.md); a file over a limit is refused with the reason
    max_pages: int = 1000  # PDF pages
    max_chars: int = 2_000_000  # characters of text in one document
    max_unzipped_mb: float = 100.0  # .docx: uncompressed size of the archive
    max_xml_mb: float = 15.0  # .docx: uncompressed size of its XML parts
    max_zip_ratio: float = 100.0  # .docx: uncompressed / compressed size of one part
    max_html_depth: int = 200  # nesting of HTML elements


@dataclass
class IndexConfig:
    dir: Path = Path("index")
    keep_versions: int = 2


@dataclass
class EmbeddingConfig:
    # "builtin" (built offline from knowledge/ at index time), a local folder, or a hub name
    model: str = "builtin"
    dim: int = 256  # builtin model only
    query_prefix: str = ""
    passage_prefix: str = ""
    segment_words: bool = False  # pyvi word segmentation before encoding (PhoBERT models)
    max_seq_length: int = 256
    batch_size: int = 64
    # builtin model only: a pretrained static model folder (models/vi-static) joined with the corpus-built
    # vectors, weighing pretrained_share of the cosine; "" = the corpus alone
    pretrained: str = ""
    pretrained_share: float = 0.5
    # builtin model only: train it further at index time on pairs the collection gives (heading -> passage,
    # sentence -> rest of its passage), at most adapt_pairs pairs for adapt_epochs epochs (needs torch)
    adapt: bool = False
    adapt_pairs: int = 20_000
    adapt_epochs: int = 3
    # static models only: a passage's token counts saturate like BM25's, (k1 + 1)·tf / (tf + k1), with this
    # k1 before pooling; 0 = plain counts (questions are always encoded with plain counts)
    passage_saturation: float = 0.0

    def settings(self) -> dict:
        """The settings that change the vectors: an index built with other settings is refused."""
        settings = dataclasses.asdict(self) | {"batch_size": None}
        if self.model != "builtin" or not self.pretrained:  # as before these keys existed
            del settings["pretrained"], settings["pretrained_share"]
        if self.model != "builtin" or not self.adapt:
            del settings["adapt"], settings["adapt_pairs"], settings["adapt_epochs"]
        if not self.passage_saturation:  # as before this key existed
            del settings["passage_saturation"]
        return settings


@dataclass
class ChunkingConfig:
    min_words: int = 80
    max_words: int = 250


@dataclass
class RetrievalConfig:
    top_k: int = 3
    candidates: int = 100
    max_per_document: int = 2
    lexical_weight: float = 0.8
    dense_weight: float = 0.2
    doc_number_boost: float = 0.5
    expansion_weight: float = 0.5
    min_relevance: float = 0.3
    # the bar falls for questions of more content words and for shorter passages (bot/retrieval/query.py Scaling)
    relevance_question_words: int = 12  # 0: the same bar whatever the question's length
    relevance_passage_words: int = 120  # 0: the same bar whatever the passage's length
    max_question_chars: int = 1000
    domain_check: bool = True  # reject questions whose words are typical of general text, not of the collection
    domain_margin: float = 0.28  # ... when their specificity is under this share of the collection's own
    domain_classifier: bool = True  # index-time classifier of the collection's words: a veto on weak questions


@dataclass
class WebhookConfig:
    """Where a channel listens for webhook calls (behind a TLS reverse proxy) and its public URL."""

    url: str = ""
    listen: str = "127.0.0.1"
    port: int = 8443
    path: str = "/telegram"


@dataclass
class TelegramConfig:
    api_base_url: str = "https://api.telegram.org/bot"
    api_base_file_url: str = "https://api.telegram.org/file/bot"
    admin_ids: list[int] = field(default_factory=list)
    trainer_ids: list[int] = field(default_factory=list)  # may schedule quiz series (/lichontap); admins too
    webhook: WebhookConfig | None = None
    max_upload_mb: float = 20.0
    questions_per_minute: int = 20  # per user; more are answered with a polite "slow down"
    # a self-hosted Bot API server started with --local: files are read from its disk (large uploads)
    local_mode: bool = False


@dataclass
class ZaloConfig:
    api_base_url: str = "https://bot-api.zaloplatforms.com"
    mode: str = "polling"
    admin_ids: list[str] = field(default_factory=list)
    webhook: WebhookConfig = field(default_factory=lambda: WebhookConfig(port=8444, path="/zalo"))
    polling_timeout: int = 30
    # the name users type after "@" in groups (getMe does not return the display name)
    bot_name: str = ""


@dataclass
class FaissConfig:
    """The dense index type: exact (flat) for small corpora, approximate (HNSW or IVF) for large ones."""

    index: str = "auto"  # auto | flat | hnsw | ivf; auto: flat up to flat_max passages, then hnsw
    flat_max: int = 50_000
    hnsw_m: int = 32
    hnsw_ef_search: int = 256
    hnsw_ef_construction: int = 80
    ivf_nlist: int = 0  # 0: about 4 * sqrt(passages)
    ivf_nprobe: int = 256


@dataclass
class QueryLogConfig:
    path: Path = Path("var/querylog.sqlite")


@dataclass
class DatabaseConfig:
    """The state store: empty url = the SQLite file querylog.path; postgresql://user@host/db for workers.
    DIRECTIVE_BOT_DATABASE_URL overrides it; a password never goes in this file (use that or PGPASSWORD)."""

    url: str = ""


@dataclass
class Config:
    knowledge: KnowledgeConfig = field(default_factory=KnowledgeConfig)
    index: IndexConfig = field(default_factory=IndexConfig)
    embedding: EmbeddingConfig = field(default_factory=EmbeddingConfig)
    chunking: ChunkingConfig = field(default_factory=ChunkingConfig)
    retrieval: RetrievalConfig = field(default_factory=RetrievalConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    zalo: ZaloConfig = field(default_factory=ZaloConfig)
    querylog: QueryLogConfig = field(default_factory=QueryLogConfig)
    faiss: FaissConfig = field(default_factory=FaissConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    source: Path | None = None  # the file this was read from


DEFAULT_CONFIG_NAME = "config.yaml"
FAISS_INDEX_TYPES = ("auto", "flat", "hnsw", "ivf")


def _convert(value, tp, key: str, where: str):
    """Convert a YAML value to the annotated type, or raise ConfigError naming the key."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _convert(value, args[0], key, where)
    if dataclasses.is_dataclass(tp):
        if value is None:
            return tp()
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: {key} must be a mapping, got {type(value).__name__}")
        return _build(tp, value, key, where)
    if origin is list:
        (item_tp,) = typing.get_args(tp)
        if value is None:
            return []
        if not isinstance(value, list):
            raise ConfigError(f"{where}: {key} must be a list, got {value!r}")
        return [_convert(v, item_tp, f"{key}[{i}]", where) for i, v in enumerate(value)]
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: {key} must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: {key} must be a whole number, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: {key} must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {key} must be text, got {value!r}")
        return value
    if tp is Path:
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}: {key} must be a path, got {value!r}")
        return Path(value)
    raise ConfigError(f"{where}: {key}: unsupported type {tp}")  # pragma: no cover


def _build(cls, data: dict, prefix: str, where: str):
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls) if f.name != "source"}
    unknown = sorted(set(map(str, data)) - names)
    if unknown:
        key = f"{prefix}.{unknown[0]}" if prefix else unknown[0]
        raise ConfigError(f"{where}: unknown key {key} (known: {', '.join(sorted(names))})")
    kwargs = {}
    for name, value in data.items():
        key = f"{prefix}.{name}" if prefix else name
        kwargs[name] = _convert(value, hints[name], key, where)
    return cls(**kwargs)


def _validate(cfg: Config, where: str) -> None:
    def need(ok: bool, key: str, rule: str, value) -> None:
        if not ok:
            raise ConfigError(f"{where}: {key} must be {rule}, got {value!r}")

    r = cfg.retrieval
    need(r.top_k >= 1, "retrieval.top_k", ">= 1", r.top_k)
    need(r.candidates >= r.top_k, "retrieval.candidates", ">= retrieval.top_k", r.candidates)
    need(r.max_per_document >= 1, "retrieval.max_per_document", ">= 1", r.max_per_document)
    need(r.lexical_weight >= 0, "retrieval.lexical_weight", ">= 0", r.lexical_weight)
    need(r.dense_weight >= 0, "retrieval.dense_weight", ">= 0", r.dense_weight)
    need(r.lexical_weight + r.dense_weight > 0, "retrieval.lexical_weight + dense_weight", "> 0",
         r.lexical_weight + r.dense_weight)
    need(0 <= r.expansion_weight <= 1, "retrieval.expansion_weight", "between 0 and 1", r.expansion_weight)
    need(0 <= r.min_relevance <= 1, "retrieval.min_relevance", "between 0 and 1", r.min_relevance)
    need(r.relevance_question_words >= 0, "retrieval.relevance_question_words", ">= 0", r.relevance_question_words)
    need(r.relevance_passage_words >= 0, "retrieval.relevance_passage_words", ">= 0", r.relevance_passage_words)
    need(0 <= r.domain_margin <= 1, "retrieval.domain_margin", "between 0 and 1", r.domain_margin)
    need(r.max_question_chars >= 20, "retrieval.max_question_chars", ">= 20", r.max_question_chars)
    c = cfg.chunking
    need(c.min_words >= 1, "chunking.min_words", ">= 1", c.min_words)
    need(c.max_words >= c.min_words, "chunking.max_words", ">= chunking.min_words", c.max_words)
    e = cfg.embedding
    need(bool(e.model.strip()), "embedding.model", "'builtin', a folder or a model name", e.model)
    need(8 <= e.dim <= 4096, "embedding.dim", "between 8 and 4096", e.dim)
    need(e.max_seq_length >= 8, "embedding.max_seq_length", ">= 8", e.max_seq_length)
    need(e.batch_size >= 1, "embedding.batch_size", ">= 1", e.batch_size)
    need(0 < e.pretrained_share < 1, "embedding.pretrained_share", "between 0 and 1 (exclusive)", e.pretrained_share)
    need(1 <= e.adapt_pairs <= 1_000_000, "embedding.adapt_pairs", "between 1 and 1000000", e.adapt_pairs)
    need(1 <= e.adapt_epochs <= 20, "embedding.adapt_epochs", "between 1 and 20", e.adapt_epochs)
    need(cfg.index.keep_versions >= 2, "index.keep_versions", ">= 2 (the current and the previous)",
         cfg.index.keep_versions)
    k = cfg.knowledge
    need(k.max_file_mb > 0, "knowledge.max_file_mb", "> 0", k.max_file_mb)
    need(k.max_pages >= 1, "knowledge.max_pages", ">= 1", k.max_pages)
    need(k.max_chars >= 1000, "knowledge.max_chars", ">= 1000", k.max_chars)
    need(k.max_unzipped_mb > 0, "knowledge.max_unzipped_mb", "> 0", k.max_unzipped_mb)
    need(k.max_xml_mb > 0, "knowledge.max_xml_mb", "> 0", k.max_xml_mb)
    need(k.max_zip_ratio >= 10, "knowledge.max_zip_ratio", ">= 10", k.max_zip_ratio)
    # the HTML parser (libxml2) stops at 256 levels by itself: a deeper limit would silently cut pages short
    need(8 <= k.max_html_depth <= 250, "knowledge.max_html_depth", "between 8 and 250", k.max_html_depth)
    need(cfg.telegram.questions_per_minute >= 1, "telegram.questions_per_minute", ">= 1",
         cfg.telegram.questions_per_minute)
    need(cfg.zalo.mode in ("polling", "webhook"), "zalo.mode", "polling or webhook", cfg.zalo.mode)
    _validate_database_url(cfg.database.url, where)
    f = cfg.faiss
    need(f.index in FAISS_INDEX_TYPES, "faiss.index", " | ".join(FAISS_INDEX_TYPES), f.index)
    need(f.flat_max >= 0, "faiss.flat_max", ">= 0", f.flat_max)
    need(4 <= f.hnsw_m <= 256, "faiss.hnsw_m", "between 4 and 256", f.hnsw_m)
    need(f.hnsw_ef_search >= 1, "faiss.hnsw_ef_search", ">= 1", f.hnsw_ef_search)
    need(f.hnsw_ef_construction >= 1, "faiss.hnsw_ef_construction", ">= 1", f.hnsw_ef_construction)
    need(f.ivf_nlist >= 0, "faiss.ivf_nlist", ">= 0 (0: about 4 * sqrt(passages))", f.ivf_nlist)
    need(f.ivf_nprobe >= 1, "faiss.ivf_nprobe", ">= 1", f.ivf_nprobe)


def _validate_database_url(url: str, where: str) -> None:
    url = url.strip()
    if not url:
        return
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+")[0] not in ("postgresql", "postgres", "sqlite"):
        raise ConfigError(f"{where}: database.url must be postgresql://user@host/db or sqlite:///path, "
                          f"got {scheme + sep if sep else 'something else'}...")
    credentials = rest.split("/", 1)[0].rpartition("@")[0]
    if ":" in credentials:  # never echo it back: it is a password
        raise ConfigError(f"{where}: database.url contains a password; put the URL in the environment "
                          "variable DIRECTIVE_BOT_DATABASE_URL (or the password in PGPASSWORD) instead")


def load_config(path: str | os.PathLike | None = None, *, require_file: bool = False) -> Config:
    """Read and validate a config file; relative paths in it are taken from the file's folder.

    Without a path, ./config.yaml is used when it exists, otherwise the defaults (or, with require_file, a
    ConfigError naming the file looked for: the command line never builds an index out of thin air).
    """
    if path is None:
        candidate = Path(DEFAULT_CONFIG_NAME)
        if not candidate.exists() and require_file:
            raise ConfigError(f"{candidate.resolve()}: config file not found; run directive-bot in the "
                              "project folder or pass --config PATH")
        if not candidate.exists():
            cfg = Config()
            _validate(cfg, "defaults")
            return _resolve(cfg, Path.cwd())
        path = candidate
    path = Path(path)
    where = str(path)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{where}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read config file: {exc}") from None
    try:
        data = yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: invalid YAML{at}: {problem}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: the top level must be a mapping of sections, got {type(data).__name__}")
    cfg = _build(Config, data, "", where)
    _validate(cfg, where)
    cfg.source = path.resolve()
    return _resolve(cfg, path.resolve().parent)


def _resolve(cfg: Config, base: Path) -> Config:
    model = cfg.embedding.model
    if model != "builtin" and not Path(model).is_absolute() and (base / model).is_dir():
        cfg.embedding.model = str((base / model).resolve())  # a local model folder next to the config
    pretrained = cfg.embedding.pretrained
    if pretrained and not Path(pretrained).is_absolute():
        # next to the config, else the one shipped in the repository (a config copied elsewhere)
        shipped = Path(__file__).resolve().parents[1] / pretrained
        cfg.embedding.pretrained = str((base / pretrained if (base / pretrained).is_dir() else shipped).resolve())
    for section, attr in ((cfg.knowledge, "dir"), (cfg.index, "dir"), (cfg.querylog, "path")):
        value = getattr(section, attr)
        if not value.is_absolute():
            setattr(section, attr, (base / value).resolve())
    return cfg
