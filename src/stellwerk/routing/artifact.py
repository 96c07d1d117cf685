"""The router artifact: a versioned directory of arrays and JSON that loading cannot execute.

    DIR/
      manifest.json   format, version, models, hyper-parameters, data hash, metrics reached,
                      and the SHA-256 of arrays.npz
      arrays.npz      every array of the QualityModel (numpy, read with allow_pickle=False),
                      and the outcome memory's digests and scores when it has one

A router trained with embeddings also has the manifest field ``embedding`` (model, api,
dimensions, weight) and the arrays ``embed_mean``, ``embed_std``, ``embed_coef``, ``embed_bias``;
an artifact without them is a text-only router. ``family_offsets`` ({family: effect}) places new
models beside trained sizes of their family (``placement``); an artifact without it places them by
the size trend alone. The version is the first 12 hex digits of the arrays' SHA-256, or, when the
artifact has families, of the SHA-256 of that checksum and the placement.

The familiarity calibration (``familiarity``) is not stored: loading computes it from the
training prompts' latent vectors, so every artifact has it. An adaptation (``adapt``) is not part
of the artifact either: it is kept beside it, by whoever adapts.

Saving writes into a temporary sibling directory and renames it into place, so a failed save
leaves nothing behind. Loading checks the format, the version, the checksum and the name, dtype
and shape of every array; anything else is an ``ArtifactError``.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from stellwerk.errors import ArtifactError
from stellwerk.routing.embedding_head import EmbeddingHead
from stellwerk.routing.familiarity import fit_familiarity
from stellwerk.routing.memory import OutcomeMemory
from stellwerk.routing.model import QualityModel
from stellwerk.routing.placement import SizePlacement

FORMAT = "stellwerk-router"
VERSION = 1
MANIFEST = "manifest.json"
ARRAYS = "arrays.npz"

_ARRAYS = {
    # name: (dtype, number of dimensions)
    "idf": ("float32", 1),
    "stat_mean": ("float32", 1),
    "stat_std": ("float32", 1),
    "coef": ("float16", 2),
    "bias": ("float32", 1),
    "vocab": ("int64", 1),
    "proj": ("float16", 2),
    "neighbour_emb": ("float16", 2),
    "neighbour_scores": ("float16", 2),
    "offsets": ("float64", 1),
    "ease_quantiles": ("float64", 1),
}
_SCALARS = ("bits", "k", "blend", "size_intercept", "size_slope")
FAMILIES = "family_offsets"
"""Manifest key: {family: effect} of the trained models' families (``placement``); optional,
an artifact without it places new models by the size trend alone."""
_MEMORY = {
    # optional: an artifact without them remembers nothing
    "memory_keys": ("int64", 1),
    "memory_scores": ("float16", 2),
    "memory_counts": ("int32", 1),
}


@dataclass(frozen=True)
class Artifact:
    model: QualityModel
    version: str
    """A short id of this artifact: the first 12 hex digits of its arrays' SHA-256."""
    info: dict[str, Any] = field(default_factory=dict)
    """Everything else the manifest says (data hash, hyper-parameters, metrics, facts)."""


def save_artifact(model: QualityModel, out_dir: str | Path, info: dict[str, Any]) -> Artifact:
    """Write ``model`` to ``out_dir`` (which must not exist yet, or be an empty directory)."""
    out = Path(out_dir)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ArtifactError(f"{out}: exists and is not an empty directory; choose a new --out")
    buf = io.BytesIO()
    arrays = {
        name: np.ascontiguousarray(getattr(model, name), dtype=dtype)
        for name, (dtype, _) in _ARRAYS.items()
    }
    memory = model.memory
    if memory is not None:
        arrays |= {
            "memory_keys": memory.keys,
            "memory_scores": memory.scores,
            "memory_counts": memory.counts,
        }
    arrays.update(_head_arrays(model.embedding))
    np.savez_compressed(buf, allow_pickle=False, **arrays)
    blob = buf.getvalue()
    digest = hashlib.sha256(blob).hexdigest()
    manifest = {
        "format": FORMAT,
        "version": VERSION,
        "arrays_sha256": digest,
        "models": list(model.models),
        **{name: getattr(model, name) for name in ("bits", "k", "blend")},
        "size_intercept": model.placement.intercept,
        "size_slope": model.placement.slope,
        FAMILIES: dict(model.placement.families),
        **({} if memory is None else {"memory_prior": memory.prior}),
        **info,
        **_head_manifest(model.embedding),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        tmp.chmod(0o755)
        (tmp / ARRAYS).write_bytes(blob)
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        if out.exists():
            out.rmdir()
        tmp.replace(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return Artifact(model=model, version=_version(digest, model.placement), info=info)


def _version(arrays_digest: str, placement: SizePlacement) -> str:
    """12 hex digits naming the router: the arrays' checksum, and with it the families that place
    new models when there are any (they live in the manifest, not the arrays). An artifact
    without families keeps the version it had before families existed."""
    if not placement.families:
        return arrays_digest[:12]
    placed = json.dumps(
        [placement.intercept, placement.slope, sorted(placement.families.items())],
        separators=(",", ":"),
    )
    return hashlib.sha256(f"{arrays_digest}\n{placed}".encode()).hexdigest()[:12]


def load_artifact(path: str | Path) -> Artifact:
    """Read and check an artifact directory; every problem is an ``ArtifactError``."""
    root = Path(path)
    manifest = _read_manifest(root)
    try:
        blob = (root / ARRAYS).read_bytes()
    except OSError as exc:
        raise ArtifactError(f"{root}: cannot read {ARRAYS} ({exc.strerror})") from exc
    digest = hashlib.sha256(blob).hexdigest()
    if digest != manifest.get("arrays_sha256"):
        raise ArtifactError(f"{root}: {ARRAYS} does not match its checksum (corrupt or altered)")
    arrays = _read_arrays(root, blob)
    models = manifest.get("models")
    if not isinstance(models, list) or not models or not all(isinstance(m, str) for m in models):
        raise ArtifactError(f"{root}: manifest field 'models' must be a list of model names")
    scalars = {}
    for name in _SCALARS:
        value = manifest.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ArtifactError(f"{root}: manifest field {name!r} must be a number")
        scalars[name] = value
    model = _build(root, tuple(models), arrays, scalars, _families(root, manifest.get(FAMILIES)))
    memory = _memory(root, arrays, len(models), manifest.get("memory_prior"))
    if memory is not None:
        model = replace(model, memory=memory)
    model = replace(
        model,
        embedding=_read_head(root, manifest, arrays, len(models)),
        familiarity=fit_familiarity(model.neighbour_emb),
    )
    info = {
        k: v
        for k, v in manifest.items()
        if k not in {"models", "memory_prior", FAMILIES, *_SCALARS}
    }
    return Artifact(model=model, version=_version(digest, model.placement), info=info)


def _read_manifest(root: Path) -> dict[str, Any]:
    try:
        text = (root / MANIFEST).read_text(encoding="utf-8")
    except OSError as exc:
        raise ArtifactError(
            f"{root}: not a router artifact (cannot read {MANIFEST}: {exc.strerror})"
        ) from exc
    try:
        manifest = json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ArtifactError(f"{root}: {MANIFEST} is not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ArtifactError(f"{root}: not a Stellwerk router artifact (format is not {FORMAT!r})")
    if manifest.get("version") != VERSION:
        raise ArtifactError(
            f"{root}: artifact version {manifest.get('version')!r} is not supported"
            f" (this Stellwerk reads version {VERSION})"
        )
    return manifest


def _read_arrays(root: Path, blob: bytes) -> dict[str, np.ndarray[Any, Any]]:
    try:
        with np.load(io.BytesIO(blob), allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except (ValueError, OSError, zipfile.BadZipFile, KeyError) as exc:
        raise ArtifactError(f"{root}: {ARRAYS} cannot be read as plain arrays ({exc})") from exc


def _build(
    root: Path,
    models: tuple[str, ...],
    arrays: dict[str, np.ndarray[Any, Any]],
    scalars: dict[str, float],
    families: dict[str, float],
) -> QualityModel:
    for name, (dtype, ndim) in _ARRAYS.items():
        arr = arrays.get(name)
        if arr is None:
            raise ArtifactError(f"{root}: array {name!r} is missing")
        if arr.dtype != np.dtype(dtype) or arr.ndim != ndim:
            raise ArtifactError(f"{root}: array {name!r} has the wrong type or shape")
        if arr.dtype.kind == "f" and not np.isfinite(arr).all():
            raise ArtifactError(f"{root}: array {name!r} holds NaN or infinite values")
    bits, k, m = int(scalars["bits"]), int(scalars["k"]), len(models)
    n_stats = arrays["stat_mean"].shape[0]
    n_rows, dims = arrays["neighbour_emb"].shape
    expected = {
        "idf": (1 << bits,),
        "stat_std": (n_stats,),
        "coef": ((1 << bits) + n_stats, m),
        "bias": (m,),
        "proj": (arrays["vocab"].shape[0], dims),
        "neighbour_scores": (n_rows, m),
        "offsets": (m,),
    }
    if not 8 <= bits <= 24 or not 1 <= k <= n_rows:
        raise ArtifactError(f"{root}: manifest fields 'bits' or 'k' are out of range")
    for name, shape in expected.items():
        if arrays[name].shape != shape:
            raise ArtifactError(
                f"{root}: array {name!r} has shape {arrays[name].shape}, expected {shape}"
            )
    vocab = arrays["vocab"]
    if len(vocab) == 0 or (np.diff(vocab) <= 0).any() or vocab[0] < 0 or vocab[-1] >= 1 << bits:
        raise ArtifactError(f"{root}: array 'vocab' is not a sorted set of slots")
    values: dict[str, Any] = {name: arrays[name] for name in _ARRAYS}
    values["coef"] = arrays["coef"].astype(np.float32)
    values["proj"] = arrays["proj"].astype(np.float32)
    values["idf"] = arrays["idf"].astype(np.float64)
    values["neighbour_emb"] = arrays["neighbour_emb"].astype(np.float32)
    names = {f.name for f in fields(QualityModel)}
    return QualityModel(
        models=models,
        bits=bits,
        k=k,
        blend=float(scalars["blend"]),
        placement=SizePlacement(
            intercept=float(scalars["size_intercept"]),
            slope=float(scalars["size_slope"]),
            families=families,
        ),
        **{key: val for key, val in values.items() if key in names},
    )


def _families(root: Path, raw: object) -> dict[str, float]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(
        isinstance(k, str)
        and k
        and not isinstance(v, bool)
        and isinstance(v, int | float)
        and math.isfinite(v)
        for k, v in raw.items()
    ):
        raise ArtifactError(
            f"{root}: manifest field {FAMILIES!r} must map family names to finite numbers"
        )
    return {k: float(v) for k, v in raw.items()}


def _memory(
    root: Path, arrays: dict[str, np.ndarray[Any, Any]], models: int, prior: object
) -> OutcomeMemory | None:
    present = [name for name in _MEMORY if name in arrays]
    if not present:
        return None
    for name, (dtype, ndim) in _MEMORY.items():
        arr = arrays.get(name)
        if arr is None or arr.dtype != np.dtype(dtype) or arr.ndim != ndim:
            raise ArtifactError(f"{root}: array {name!r} is missing or has the wrong type or shape")
    keys, scores, counts = (arrays[name] for name in _MEMORY)
    if scores.shape != (len(keys), models) or counts.shape != (len(keys),):
        raise ArtifactError(f"{root}: the memory arrays do not match each other or the models")
    if len(keys) and (np.diff(keys) <= 0).any():
        raise ArtifactError(f"{root}: array 'memory_keys' is not sorted")
    if (
        (counts < 1).any()
        or not np.isfinite(scores).all()
        or (scores < 0).any()
        or (scores > 1).any()
    ):
        raise ArtifactError(f"{root}: the memory holds counts below 1 or scores outside [0, 1]")
    if isinstance(prior, bool) or not isinstance(prior, int | float) or not prior > 0:
        raise ArtifactError(f"{root}: manifest field 'memory_prior' must be a positive number")
    return OutcomeMemory(keys=keys, scores=scores, counts=counts, prior=float(prior))


_HEAD_ARRAYS = {
    # name: (dtype, field of EmbeddingHead)
    "embed_mean": ("float32", "mean"),
    "embed_std": ("float32", "std"),
    "embed_coef": ("float16", "coef"),
    "embed_bias": ("float32", "bias"),
}


def _head_arrays(head: EmbeddingHead | None) -> dict[str, np.ndarray[Any, Any]]:
    if head is None:
        return {}
    return {
        name: np.ascontiguousarray(getattr(head, attr), dtype=dtype)
        for name, (dtype, attr) in _HEAD_ARRAYS.items()
    }


def _head_manifest(head: EmbeddingHead | None) -> dict[str, Any]:
    if head is None:
        return {}
    return {
        "embedding": {
            "model": head.model,
            "api": head.api,
            "dimensions": head.dimensions,
            "weight": head.weight,
        }
    }


def _read_head(
    root: Path, manifest: dict[str, Any], arrays: dict[str, np.ndarray[Any, Any]], models: int
) -> EmbeddingHead | None:
    """The embedding head the manifest announces, checked like the other arrays."""
    spec = manifest.get("embedding")
    if spec is None:
        return None
    if not isinstance(spec, dict):
        raise ArtifactError(f"{root}: manifest field 'embedding' must be an object")
    model, api, dims, weight = (spec.get(k) for k in ("model", "api", "dimensions", "weight"))
    if not isinstance(model, str) or api not in ("openai", "ollama"):
        raise ArtifactError(f"{root}: manifest field 'embedding' needs a model and an api")
    if isinstance(dims, bool) or not isinstance(dims, int) or dims < 1:
        raise ArtifactError(f"{root}: manifest field 'embedding.dimensions' must be a count")
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 <= weight <= 1:
        raise ArtifactError(f"{root}: manifest field 'embedding.weight' must be in [0, 1]")
    shapes = {"embed_mean": (dims,), "embed_std": (dims,), "embed_coef": (dims, models)}
    shapes["embed_bias"] = (models,)
    values: dict[str, Any] = {}
    for name, (dtype, attr) in _HEAD_ARRAYS.items():
        arr = arrays.get(name)
        if arr is None:
            raise ArtifactError(f"{root}: array {name!r} is missing")
        if arr.dtype != np.dtype(dtype) or arr.shape != shapes[name]:
            raise ArtifactError(f"{root}: array {name!r} has the wrong type or shape")
        if not np.isfinite(arr).all():
            raise ArtifactError(f"{root}: array {name!r} holds NaN or infinite values")
        if name == "embed_std" and not (arr > 0).all():
            raise ArtifactError(f"{root}: array 'embed_std' must be positive (it divides)")
        values[attr] = arr.astype(np.float32)
    return EmbeddingHead(model=model, api=api, weight=float(weight), **values)
