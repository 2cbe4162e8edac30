"""The embedding model: builds the builtin static model from the corpus, and encodes queries and passages."""

from __future__ import annotations

import itertools
import json
import logging
import math
import os
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from tokenizers import Tokenizer, normalizers, pre_tokenizers
from tokenizers.models import WordLevel
from tokenizers.trainers import WordLevelTrainer

from bot.config import EmbeddingConfig

log = logging.getLogger(__name__)

# sentence_transformers, torch, sklearn and pyvi are imported where first needed: together they take
# seconds to import, and code that only reads the module's names should not pay for them.

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


def train_tokenizer(texts: list[str], max_vocabulary: int = MAX_VOCABULARY) -> Tokenizer:
    """A word-level tokenizer over the corpus's syllables, normalising Vietnamese on its own."""
    tokenizer = Tokenizer(WordLevel(unk_token=UNKNOWN_TOKEN))
    tokenizer.normalizer = vietnamese_normalizer()
    # words and runs of punctuation: "05-CT/TW" -> "05" "-" "ct" "/" "tw" (punctuation gets a zero vector)
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    # min_frequency 1: in a corpus of a few hundred passages a word seen once is often the one that matters
    trainer = WordLevelTrainer(
        vocab_size=max_vocabulary, min_frequency=1, special_tokens=[UNKNOWN_TOKEN], show_progress=False
    )
    tokenizer.train_from_iterator(texts, trainer=trainer, length=len(texts))
    return tokenizer


def silent_tokens(tokenizer: Tokenizer) -> np.ndarray:
    """Mask over token ids: [UNK] and tokens without a letter or digit (punctuation), which carry no meaning."""
    silent = np.ones(tokenizer.get_vocab_size(), dtype=bool)
    for token, token_id in tokenizer.get_vocab().items():
        silent[token_id] = token == UNKNOWN_TOKEN or not any(ch.isalnum() for ch in token)
    return silent


def token_counts(tokenizer: Tokenizer, texts: list[str]) -> sp.csr_matrix:
    """Passage × token count matrix, [UNK] included (column 0)."""
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
    counts: sp.csr_matrix,
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
                        sample: int = TRAIN_SAMPLE) -> np.ndarray:
    """Build, offline and from `texts` alone, a sentence-transformers folder holding a StaticEmbedding.

    `SentenceTransformer(str(out_dir))` loads it like any other model. Its vectors always have `dim`
    dimensions (zero-padded when the corpus supports fewer); builtin_model.json records the real rank.
    Above `sample` passages the model is trained on a deterministic sample of them (words seen only
    outside the sample get no vector).
    Returns the L2-normalised vectors of all `texts`: the same values the saved model's encode gives
    (a static model mean-pools token vectors, here counts @ weights), without loading it back.
    """
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding

    if not texts:
        raise EmbeddingError("builtin embedding model: no passages to learn from")
    out_dir = Path(out_dir)
    if len(texts) > sample:
        rows = np.sort(np.random.default_rng(seed).choice(len(texts), sample, replace=False))
        training = [texts[i] for i in rows]
    else:
        training = texts
    tokenizer = train_tokenizer(training)
    counts = token_counts(tokenizer, training)
    weights, rank = word_vectors(counts, dim, seed, ignored=silent_tokens(tokenizer))
    model = SentenceTransformer(modules=[StaticEmbedding(tokenizer, embedding_weights=weights)], device="cpu")
    model.save(str(out_dir), create_model_card=False)
    about = {
        "recipe": "lsa-bm25",
        "passages": len(training),
        "corpus_passages": len(texts),
        "vocabulary": tokenizer.get_vocab_size(),
        "dim": dim,
        "rank": rank,
        "seed": seed,
    }
    (out_dir / BUILTIN_INFO_FILE).write_text(json.dumps(about, indent=2) + "\n", encoding="utf-8")
    log.info("builtin embedding model: trained on %d of %d passages, %d tokens, rank %d of %d", len(training),
             len(texts), tokenizer.get_vocab_size(), rank, dim)
    if training is texts:
        return _unit_rows(np.asarray(counts @ weights, dtype=np.float32))
    del counts, training
    vectors = np.empty((len(texts), dim), dtype=np.float32)
    for start in range(0, len(texts), ENCODE_BATCH):
        batch = texts[start:start + ENCODE_BATCH]
        vectors[start:start + len(batch)] = _unit_rows(np.asarray(token_counts(tokenizer, batch) @ weights,
                                                                  dtype=np.float32))
    return vectors


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length, in place; a text of unknown words has no direction: its row stays
    zero (and scores 0) rather than NaN."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    np.divide(vectors, norms, out=vectors, where=norms > 0)
    return vectors


# --- encoding ----------------------------------------------------------------------------------------


class Embedder:
    """The one way the project turns text into vectors: float32 rows of unit length (or zero)."""

    def __init__(self, model, cfg: EmbeddingConfig, name: str) -> None:
        self._model = model
        self._cfg = cfg
        self._name = name
        self._dim = model.get_embedding_dimension() or int(model.encode(["x"]).shape[1])
        # batch_size bounds a transformer's memory; a static model needs next to none, and large
        # batches let its tokenizer use every core
        static = math.isinf(model.max_seq_length or 0)
        self._batch_size = max(cfg.batch_size, 1024) if static else cfg.batch_size
        self._static = _static_parts(model) if not (cfg.query_prefix or cfg.segment_words) else None

    @classmethod
    def load(cls, cfg: EmbeddingConfig, builtin_dir: Path) -> Embedder:
        """Load the builtin model from `builtin_dir`, a local model folder, or (only then online) a hub model."""
        _limit_threads()
        from sentence_transformers import SentenceTransformer

        if cfg.model == "builtin":
            where, source, local = f"builtin embedding model {builtin_dir}", Path(builtin_dir), True
            hint = "rebuild the index"
            if not (source / "modules.json").is_file():
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
        try:
            model = SentenceTransformer(str(source), device="cpu", local_files_only=local)
        except Exception as exc:  # any failure inside the library means the same thing here
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise EmbeddingError(f"{where}: cannot load: {reason} ({hint})") from exc
        _apply_max_seq_length(model, cfg.max_seq_length)
        embedder = cls(model, cfg, cfg.model)
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
    def max_seq_length(self) -> int | None:
        """Tokens a text is cut to; None for models that see every token (the builtin one)."""
        value = self._model.max_seq_length
        return None if value is None or not math.isfinite(value) else int(value)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        if self._static is not None:
            return self._encode_static(texts)
        return self._encode(texts, self._cfg.query_prefix, show_progress=False)

    def _encode_static(self, texts: list[str]) -> np.ndarray:
        """What a lone StaticEmbedding computes (the mean of its token vectors), without the
        sentence-transformers/torch call overhead: about 2 ms of CPU less per question."""
        tokenizer, weights = self._static
        vectors = np.zeros((len(texts), self._dim), dtype=np.float32)
        for row, encoding in enumerate(tokenizer.encode_batch(list(texts), add_special_tokens=False)):
            if encoding.ids:
                vectors[row] = weights[encoding.ids].mean(axis=0)
        return _unit_rows(vectors)

    def encode_passages(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        return self._encode(texts, self._cfg.passage_prefix, show_progress=show_progress)

    def _encode(self, texts: list[str], prefix: str, show_progress: bool) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._dim), dtype=np.float32)
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


def _static_parts(model):
    """(tokenizer, token vectors as NumPy) when the model is a lone mean-pooling StaticEmbedding (the
    builtin model), else None."""
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding

    modules = list(model)
    if len(modules) != 1 or not isinstance(modules[0], StaticEmbedding):
        return None
    bag = modules[0].embedding
    if getattr(bag, "mode", "mean") != "mean" or getattr(bag, "padding_idx", None) is not None:
        return None
    return modules[0].tokenizer, bag.weight.detach().cpu().numpy()


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
    """Use no more torch threads than the CPUs this process may run on (containers often report the host's)."""
    import torch

    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    if torch.get_num_threads() > cpus:
        torch.set_num_threads(cpus)
