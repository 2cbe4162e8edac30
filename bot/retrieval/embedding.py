"""The embedding model: builds the builtin static model from the corpus, and encodes queries and passages."""

from __future__ import annotations

import itertools
import json
import logging
import math
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import WordLevel

from bot import runtime
from bot.config import EmbeddingConfig

log = logging.getLogger(__name__)

# sentence_transformers, torch, scipy, sklearn and pyvi are imported where first needed: together they
# take seconds to import, and answering a question with a static model needs none of them.

UNKNOWN_TOKEN = "[UNK]"
MAX_VOCABULARY = 200_000
BUILTIN_INFO_FILE = "builtin_model.json"
# the builtin model's recipe, chosen on UIT-ViQuAD with bench/embedding_variants.py
K1, B = 1.5, 0.75
SINGULAR_POWER = 0.25
SVD_POWER_ITERATIONS = 2  # more changed nothing measurable on UIT-ViQuAD
MIN_RANK_TO_DROP_FIRST = 16  # below that the first component still tells passages apart (measured)
# Larger corpora train on a deterministic sample of this many passages (the SVD of the full passage ×
# token matrix needs ~26 GB at a million passages); every passage is then encoded with the result.
TRAIN_SAMPLE = 100_000
ENCODE_BATCH = 20_000
PRETRAINED_SHARE = 0.5  # weight of the pretrained model's cosine in a combined builtin model
SMALL_BATCH = 64  # up to this many texts (questions) a static model encodes without a sparse matrix


class EmbeddingError(Exception):
    """The embedding model cannot be built, loaded or used; the message says which model and why."""


# --- the builtin model -------------------------------------------------------------------------------


def vietnamese_normalizer() -> normalizers.Normalizer:
    """Strip diacritics, lowercase and map đ→d, so "Chỉ thị Đảng" and "chi thi dang" read the same."""
    return normalizers.Sequence(
        [
            normalizers.NFD(),  # also brings composed and decomposed input to one form
            normalizers.StripAccents(),
            normalizers.Lowercase(),
            # NFD does not decompose đ; ð (eth) is a common mistyping of it
            normalizers.Replace("đ", "d"),
            normalizers.Replace("ð", "d"),
        ]
    )


def train_tokenizer(texts: list[str], max_vocabulary: int = MAX_VOCABULARY, min_frequency: int = 1) -> Tokenizer:
    """A word-level tokenizer over the corpus's syllables, normalising Vietnamese on its own."""
    from tokenizers.trainers import WordLevelTrainer

    tokenizer = Tokenizer(WordLevel(unk_token=UNKNOWN_TOKEN))
    tokenizer.normalizer = vietnamese_normalizer()
    # words and runs of punctuation: "05-CT/TW" -> "05" "-" "ct" "/" "tw" (punctuation gets a zero vector)
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    # min_frequency 1: in a corpus of a few hundred passages a word seen once is often the one that matters
    trainer = WordLevelTrainer(
        vocab_size=max_vocabulary, min_frequency=min_frequency, special_tokens=[UNKNOWN_TOKEN], show_progress=False
    )
    tokenizer.train_from_iterator(texts, trainer=trainer, length=len(texts))
    return tokenizer


def silent_tokens(tokenizer: Tokenizer) -> np.ndarray:
    """Mask over token ids: [UNK] and tokens without a letter or digit (punctuation), which carry no meaning."""
    silent = np.ones(tokenizer.get_vocab_size(), dtype=bool)
    for token, token_id in tokenizer.get_vocab().items():
        silent[token_id] = token == UNKNOWN_TOKEN or not any(ch.isalnum() for ch in token)
    return silent


def token_counts(tokenizer: Tokenizer, texts: list[str]):
    """Passage × token count matrix (scipy.sparse CSR), [UNK] included (column 0)."""
    import scipy.sparse as sp

    encode = getattr(tokenizer, "encode_batch_fast", tokenizer.encode_batch)  # fast: no offsets
    ids = [e.ids for e in encode(texts, add_special_tokens=False)]
    lengths = np.fromiter((len(i) for i in ids), dtype=np.int64, count=len(ids))
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    indices = np.fromiter(itertools.chain.from_iterable(ids), dtype=np.int64, count=int(lengths.sum()))
    data = np.ones(len(indices), dtype=np.float32)
    counts = sp.csr_matrix((data, indices, indptr), shape=(len(texts), tokenizer.get_vocab_size()))
    counts.sum_duplicates()
    return counts


def word_vectors(
    counts,
    dim: int,
    seed: int = 0,
    *,
    ignored: np.ndarray | None = None,
    singular_power: float = SINGULAR_POWER,
    drop_first: bool | None = None,
) -> tuple[np.ndarray, int]:
    """Token vectors (vocabulary × dim, float32) learned by LSA, and how many dimensions carry information.

    The passage × token matrix is weighted like BM25 (k1=1.5, b=0.75, smoothed idf) and reduced by a
    truncated SVD; token t gets idf(t) · v_t · Σ^¼ with the first component (the direction every passage
    shares) zeroed. StaticEmbedding mean-pools token vectors, so the idf factor makes the norm of a vector
    its weight, and a passage comes out close to its BM25 row projected onto the latent space.
    Chosen by measurement on UIT-ViQuAD (bench/embedding_variants.py). Columns past the feasible rank
    (a corpus of a few passages has few) stay zero, so the dimension is always `dim`.
    `ignored` marks tokens that get a zero vector; by default only [UNK] (id 0).
    """
    import scipy.sparse as sp

    n_passages, vocabulary = counts.shape
    if ignored is None:
        ignored = np.arange(vocabulary) == 0
    counts = counts.tocsr(copy=True).astype(np.float64)
    counts.data[ignored[counts.indices]] = 0
    counts.eliminate_zeros()
    document_frequency = np.bincount(counts.indices, minlength=vocabulary)
    idf = np.log((n_passages + 1) / (document_frequency + 1)) + 1
    idf[document_frequency == 0] = 0  # ignored tokens

    lengths = np.asarray(counts.sum(axis=1)).ravel()
    average = max(float(lengths.mean()), 1.0)
    coo = counts.tocoo()
    tf = coo.data
    norm = K1 * (1 - B + B * lengths[coo.row] / average)
    weighted = sp.csr_matrix(
        ((tf * (K1 + 1) / (tf + norm) * idf[coo.col]).astype(np.float32), (coo.row, coo.col)), shape=counts.shape
    )

    weights = np.zeros((vocabulary, dim), dtype=np.float32)
    rank = min(dim, n_passages, int((document_frequency > 0).sum()))
    if rank == 0 or weighted.nnz == 0:
        return weights, 0
    if min(weighted.shape) <= 2 * rank:
        _, singular, vt = np.linalg.svd(weighted.toarray(), full_matrices=False)
        singular, vt = singular[:rank], vt[:rank]
    else:
        from sklearn.utils.extmath import randomized_svd

        _, singular, vt = randomized_svd(weighted, rank, n_iter=SVD_POWER_ITERATIONS, random_state=seed)
    keep = singular > singular[0] * 1e-6  # rank-deficient corpora: the rest is numerical noise
    rank = int(keep.sum())
    vectors = vt[:rank].T * singular[:rank] ** singular_power
    if drop_first is None:
        drop_first = rank >= MIN_RANK_TO_DROP_FIRST
    if drop_first:
        vectors[:, 0] = 0
    weights[:, :rank] = vectors * idf[:, None]
    return weights, rank


def build_builtin_model(texts: list[str], out_dir: Path, dim: int = 256, seed: int = 0,
                        sample: int = TRAIN_SAMPLE, pretrained: Path | None = None,
                        pretrained_share: float = PRETRAINED_SHARE, adapt=None,
                        saturation: float = 0.0) -> np.ndarray:
    """Build, offline and from `texts` alone, a sentence-transformers folder holding a StaticEmbedding.

    `SentenceTransformer(str(out_dir))` loads it like any other model. Its vectors always have `dim`
    dimensions (zero-padded when the corpus supports fewer); builtin_model.json records the real rank.
    Above `sample` passages the model is trained on a deterministic sample of them (words seen only
    outside the sample get no vector).
    With `pretrained` (a static model folder with the same kind of tokenizer, e.g. models/vi-static),
    each token's vector is its corpus vector joined with its pretrained one (`combine_static`), so
    words and paraphrases the corpus never uses still count: the vectors then have `dim` plus the
    pretrained model's dimensions.
    With `adapt` (bot.retrieval.adapt.AdaptSettings) the corpus vectors are trained further on pairs the
    passages give (heading -> passage, sentence -> rest of its passage) before any joining; torch is
    needed for that, at index time only.
    Returns the L2-normalised vectors of all `texts`: the same values the saved model's encode gives
    (a static model mean-pools token vectors, here counts @ weights), without loading it back; with
    `saturation` (embedding.passage_saturation) the counts saturate as in `StaticModel.encode`.
    """
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding

    if not texts:
        raise EmbeddingError("builtin embedding model: no passages to learn from")
    out_dir = Path(out_dir)
    base = StaticModel.read(Path(pretrained)) if pretrained else None
    if pretrained and base is None:
        raise EmbeddingError(f"embedding.pretrained {pretrained}: not a static sentence-transformers model folder")
    if len(texts) > sample:
        rows = np.sort(np.random.default_rng(seed).choice(len(texts), sample, replace=False))
        training = [texts[i] for i in rows]
    else:
        training = texts
    tokenizer = train_tokenizer(training)
    counts = token_counts(tokenizer, training)
    weights, rank = word_vectors(counts, dim, seed, ignored=silent_tokens(tokenizer))
    adapted = None
    if adapt is not None:
        from bot.retrieval.adapt import adapt_weights

        weights, adapted = adapt_weights(tokenizer, weights, training, adapt, frozen=silent_tokens(tokenizer))
    if base is not None:
        tokenizer, weights = combine_static(StaticModel(tokenizer, weights), base, counts, pretrained_share)
    model = SentenceTransformer(modules=[StaticEmbedding(tokenizer, embedding_weights=weights)], device="cpu")
    model.save(str(out_dir), create_model_card=False)
    _write_about(out_dir, training, texts, tokenizer, weights, rank, seed,
                 {"pretrained": str(pretrained), "pretrained_share": pretrained_share} if base is not None else {},
                 adapted)
    log.info("builtin embedding model: trained on %d of %d passages, %d tokens, rank %d of %d%s", len(training),
             len(texts), tokenizer.get_vocab_size(), rank, dim, " + pretrained" if base is not None else "")
    if training is texts and base is None:
        if saturation > 0:
            counts.data = (saturation + 1) * counts.data / (counts.data + saturation)
        return _unit_rows(np.asarray(counts @ weights, dtype=np.float32))
    del counts, training
    return StaticModel(tokenizer, weights).encode(texts, saturation)


def _write_about(out_dir: Path, training: list[str], texts: list[str], tokenizer: Tokenizer, weights: np.ndarray,
                 rank: int, seed: int, joined: dict, adapted: dict | None) -> None:
    """builtin_model.json: how the model was made (recipe, sizes, what was joined or adapted)."""
    about = {
        "recipe": "lsa-bm25" + (" + adapted" if adapted else "") + (" + pretrained" if joined else ""),
        "passages": len(training),
        "corpus_passages": len(texts),
        "vocabulary": tokenizer.get_vocab_size(),
        "dim": int(weights.shape[1]),
        "rank": rank,
        "seed": seed,
    } | joined
    if adapted:
        about["adapted"] = adapted
    (out_dir / BUILTIN_INFO_FILE).write_text(json.dumps(about, indent=2) + "\n", encoding="utf-8")


def combine_static(corpus: StaticModel, pretrained: StaticModel, counts, share: float) -> tuple[Tokenizer, np.ndarray]:
    """One static model from the corpus-built one and a pretrained one: token vectors joined side by side.

    The vocabulary is the corpus's (same ids, so `counts` still applies) followed by the pretrained
    tokens the corpus lacks. Each half is scaled so that a typical corpus passage vector has length
    √share (pretrained) and √(1 − share) (corpus): the cosine of two joined vectors is then close to
    share · pretrained cosine + (1 − share) · corpus cosine. Both tokenizers must split and normalise
    text the same way (word-level, `vietnamese_normalizer`), which the training script ensures.
    """
    if _tokenizer_kind(corpus.tokenizer) != _tokenizer_kind(pretrained.tokenizer):
        raise EmbeddingError("embedding.pretrained: its tokenizer is not a word-level tokenizer normalised like "
                             "the builtin one (train it with scripts/train_embedding.py)")
    vocabulary = dict(corpus.tokenizer.get_vocab())
    for token in sorted(pretrained.tokenizer.get_vocab(), key=pretrained.tokenizer.token_to_id):
        vocabulary.setdefault(token, len(vocabulary))
    tokens = sorted(vocabulary, key=vocabulary.get)
    lookup = np.array([pretrained.tokenizer.token_to_id(t) if pretrained.tokenizer.token_to_id(t) is not None
                       else -1 for t in tokens])
    known = lookup >= 0
    pre = np.zeros((len(tokens), pretrained.dim), dtype=np.float32)
    pre[known] = pretrained.weights[lookup[known]]
    pre[lookup == pretrained.tokenizer.token_to_id(UNKNOWN_TOKEN)] = 0  # [UNK] means nothing here
    own = np.zeros((len(tokens), corpus.dim), dtype=np.float32)
    own[:corpus.weights.shape[0]] = corpus.weights
    lengths = np.maximum(np.asarray(counts.sum(axis=1)).ravel(), 1)

    def typical_length(weights: np.ndarray) -> float:
        means = np.asarray(counts @ weights[:counts.shape[1]], dtype=np.float32) / lengths[:, None]
        norms = np.linalg.norm(means, axis=1)
        return float(np.median(norms[norms > 0])) if (norms > 0).any() else 1.0

    pre *= math.sqrt(share) / typical_length(pre)
    own *= math.sqrt(1 - share) / typical_length(own)
    tokenizer = Tokenizer(WordLevel(vocab=vocabulary, unk_token=UNKNOWN_TOKEN))
    tokenizer.normalizer = vietnamese_normalizer()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    return tokenizer, np.ascontiguousarray(np.hstack([own, pre]))


def _tokenizer_kind(tokenizer: Tokenizer) -> tuple[str, str, str]:
    spec = json.loads(tokenizer.to_str())
    return (spec["model"]["type"], json.dumps(spec.get("normalizer"), sort_keys=True),
            json.dumps(spec.get("pre_tokenizer"), sort_keys=True))


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, in place; a text of unknown words has no direction: its row stays
    zero (and scores 0) rather than NaN."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    np.divide(vectors, norms, out=vectors, where=norms > 0)
    return vectors


# --- encoding ----------------------------------------------------------------------------------------

MODULES_FILE = "modules.json"
STATIC_MODULE = "StaticEmbedding"  # the class name ending a modules.json "type"
NORMALIZE_MODULE = "Normalize"
STATIC_WEIGHTS = "embedding.weight"


class StaticModel:
    """A saved sentence-transformers StaticEmbedding folder, read with NumPy and `tokenizers` alone.

    Computes what `SentenceTransformer(folder).encode` computes for such a model (the mean of the token
    vectors of each text, its tokenizer run without special tokens) without importing torch or
    sentence-transformers, which take seconds to import: a cold `ask` pays only for reading the weights.
    """

    def __init__(self, tokenizer: Tokenizer, weights: np.ndarray) -> None:
        self.tokenizer = tokenizer
        self.weights = weights

    @property
    def dim(self) -> int:
        return int(self.weights.shape[1])

    @classmethod
    def read(cls, folder: Path) -> StaticModel | None:
        """The model in `folder` when it is a lone StaticEmbedding (optionally followed by Normalize,
        which changes nothing here: vectors are normalised anyway), else None (load it with the library)."""
        try:
            modules = json.loads((folder / MODULES_FILE).read_text(encoding="utf-8"))
            kinds = [str(m["type"]).rsplit(".", 1)[-1] for m in modules]
            if not kinds or kinds[0] != STATIC_MODULE or any(k != NORMALIZE_MODULE for k in kinds[1:]):
                return None
            where = folder / str(modules[0].get("path") or "")
            weights_file, tokenizer_file = where / "model.safetensors", where / "tokenizer.json"
            if not (weights_file.is_file() and tokenizer_file.is_file()):
                return None  # e.g. a model2vec layout or pytorch_model.bin: the library knows those
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            return None  # not a folder this reader understands; the library says what is wrong
        from safetensors.numpy import load_file

        try:
            tensors = load_file(str(weights_file))
            tokenizer = Tokenizer.from_file(str(tokenizer_file))
        except Exception as exc:  # safetensors and tokenizers raise their own error types
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise EmbeddingError(f"static embedding model {folder}: cannot read: {reason}") from exc
        weights = tensors.get(STATIC_WEIGHTS)
        if weights is None or weights.ndim != 2 or weights.shape[0] != tokenizer.get_vocab_size():
            return None
        tokenizer.no_padding()  # as StaticEmbedding does
        return cls(tokenizer, np.ascontiguousarray(weights, dtype=np.float32))

    def encode(self, texts: list[str], saturation: float = 0.0) -> np.ndarray:
        """Unit-length rows (zero for a text without tokens), float32.

        `saturation` k1 > 0 weighs a token seen tf times in a text (k1 + 1)·tf / (tf + k1) times instead
        of tf times, as BM25 does (passages: a word repeated ten times is not ten times the topic)."""
        vectors = np.zeros((len(texts), self.dim), dtype=np.float32)
        if len(texts) <= SMALL_BATCH and saturation <= 0:  # questions: no sparse matrix, no scipy import
            for row, encoding in enumerate(self.tokenizer.encode_batch(list(texts), add_special_tokens=False)):
                if encoding.ids:
                    vectors[row] = self.weights[encoding.ids].mean(axis=0)
            return _unit_rows(vectors)
        for start in range(0, len(texts), ENCODE_BATCH):
            batch = list(texts[start:start + ENCODE_BATCH])
            counts = token_counts(self.tokenizer, batch)
            if saturation > 0:
                counts.data = (saturation + 1) * counts.data / (counts.data + saturation)
            sums = np.asarray(counts @ self.weights, dtype=np.float32)
            vectors[start:start + len(batch)] = _unit_rows(sums)  # the mean has the sum's direction
        return vectors



class Embedder:
    """The one way the project turns text into vectors: float32 rows of unit length (or zero).

    A static model (the builtin one, or any lone StaticEmbedding folder) is computed in NumPy
    (StaticModel); anything else goes through sentence-transformers.
    """

    def __init__(self, cfg: EmbeddingConfig, name: str, *, model=None, static: StaticModel | None = None) -> None:
        if (model is None) == (static is None):
            raise ValueError("an Embedder wraps either a sentence-transformers model or a static model")
        self._model = model
        self._static = static
        self._cfg = cfg
        self._name = name
        if static is not None:
            self._dim = static.dim
            self._batch_size = 0
            return
        self._dim = model.get_embedding_dimension() or int(model.encode(["x"]).shape[1])
        # batch_size bounds a transformer's memory; a static model needs next to none, and large
        # batches let its tokenizer use every core
        static_library_model = math.isinf(model.max_seq_length or 0)
        self._batch_size = max(cfg.batch_size, 1024) if static_library_model else cfg.batch_size

    @classmethod
    def load(cls, cfg: EmbeddingConfig, builtin_dir: Path) -> Embedder:
        """Load the builtin model from `builtin_dir`, a local model folder, or (only then online) a hub model."""
        if cfg.model == "builtin":
            where, source, local = f"builtin embedding model {builtin_dir}", Path(builtin_dir), True
            hint = "rebuild the index"
            if not (source / MODULES_FILE).is_file():
                raise EmbeddingError(f"{where}: not found ({hint})")
        else:
            where, source = f"embedding.model {cfg.model!r}", Path(cfg.model).expanduser()
            local = source.is_dir()
            if local:
                hint = "is it a sentence-transformers or transformers model folder?"
            elif _looks_like_path(cfg.model):
                raise EmbeddingError(f"{where}: no such folder (set embedding.model: builtin, or a model folder)")
            else:
                source, hint = cfg.model, "no internet? set embedding.model: builtin"
        if local and not cfg.segment_words:
            static = StaticModel.read(Path(source))
            if static is not None:
                embedder = cls(cfg, cfg.model, static=static)
                log.info("embedding model %s loaded (static, NumPy): dim %d", embedder.name, embedder.dim)
                return embedder
        _limit_threads()
        from sentence_transformers import SentenceTransformer

        try:
            model = SentenceTransformer(str(source), device="cpu", local_files_only=local)
        except Exception as exc:  # any failure inside the library means the same thing here
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise EmbeddingError(f"{where}: cannot load: {reason} ({hint})") from exc
        _apply_max_seq_length(model, cfg.max_seq_length)
        embedder = cls(cfg, cfg.model, model=model)
        log.info("embedding model %s loaded: dim %d", embedder.name, embedder.dim)
        return embedder

    @property
    def dim(self) -> int:
        return self._dim

    @property
    def name(self) -> str:
        """The configured model: "builtin", a folder, or a hub name."""
        return self._name

    @property
    def is_static(self) -> bool:
        """True when texts are encoded in NumPy, without torch."""
        return self._static is not None

    @property
    def max_seq_length(self) -> int | None:
        """Tokens a text is cut to; None for models that see every token (static ones)."""
        if self._static is not None:
            return None
        value = self._model.max_seq_length
        return None if value is None or not math.isfinite(value) else int(value)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._cfg.query_prefix, show_progress=False)

    def encode_passages(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        return self._encode(texts, self._cfg.passage_prefix, show_progress=show_progress,
                            saturation=self._cfg.passage_saturation)

    def _encode(self, texts: list[str], prefix: str, show_progress: bool, saturation: float = 0.0) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
        if self._static is not None:
            return self._static.encode([prefix + t for t in texts] if prefix else list(texts), saturation)
        if self._cfg.segment_words:
            texts = segment_words(texts)
        vectors = self._model.encode(
            list(texts),
            prompt=prefix or None,
            batch_size=self._batch_size,
            show_progress_bar=show_progress,
            convert_to_numpy=True,
        )
        return _unit_rows(np.asarray(vectors, dtype=np.float32))


def segment_words(texts: list[str]) -> list[str]:
    """Join the syllables of Vietnamese words with "_" (pyvi), as PhoBERT-style models expect."""
    from pyvi import ViTokenizer

    return [ViTokenizer.tokenize(text) if text.strip() else text for text in texts]


def _looks_like_path(name: str) -> bool:
    # hub names are "owner/name"; anything else with a separator, or starting like a path, is a folder
    return name.startswith(("/", ".", "~")) or "\\" in name or name.count("/") > 1


def _apply_max_seq_length(model, wanted: int) -> None:
    current = model.max_seq_length
    if current is None or not math.isfinite(current):
        return  # the builtin StaticEmbedding has no limit
    if current < 100_000 and wanted > current:
        # the model's own limit (its position embeddings); longer inputs would fail
        log.warning("embedding.max_seq_length %d is more than the model takes; using %d", wanted, current)
        wanted = int(current)
    model.max_seq_length = wanted


def _limit_threads() -> None:
    """torch's threads, set once per process (bot/runtime.py), the first time a torch model is used."""
    runtime.limit_torch_threads()
