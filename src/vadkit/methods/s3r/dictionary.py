"""S3R's task-aware dictionary of normal prototypes, and a file cache for it.

The reference (``data/ucf-crime/ucf_crime_dictionary_learning.py``) summarises each normal
training video by the mean of its features over crops and (pooled) time, giving ``X`` of shape
``(V videos, D)``. It then runs scikit-learn's ``MiniBatchDictionaryLearning`` on ``X.T``: the D
feature channels are the samples and the V videos the features. The "dictionary" it saves is
the OMP code matrix of that problem, transposed: ``(n_atoms, D)`` with
``n_atoms = round(fraction * V)``. This module does the same.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from sklearn.decomposition import MiniBatchDictionaryLearning

from vadkit.errors import VadkitError
from vadkit.io.atomic import atomic_save_npy, atomic_write_json
from vadkit.sampling import pool_segments

__all__ = ["build_dictionary", "cached_dictionary", "load_dictionary"]

RECIPE_VERSION = 1


def _video_means(normal_features: Sequence[np.ndarray], n_segments: int) -> np.ndarray:
    """``(V, D)``: each ``(T, C, D)`` video pooled to segments, then averaged over time and crops."""
    if len(normal_features) == 0:
        raise VadkitError("build_dictionary: no normal videos given")
    means, dim = [], None
    for i, f in enumerate(normal_features):
        f = np.asarray(f)
        if f.ndim != 3 or f.shape[0] < 1:
            raise VadkitError(
                f"build_dictionary: normal video {i} must be (T, crops, D), got shape {f.shape}"
            )
        if dim is not None and f.shape[2] != dim:
            raise VadkitError(
                f"build_dictionary: normal video {i} has D={f.shape[2]}, the first has D={dim}"
            )
        dim = f.shape[2]
        if not np.isfinite(f).all():
            raise VadkitError(f"build_dictionary: normal video {i} has NaN or infinite values")
        means.append(pool_segments(f.astype(np.float32), n_segments).mean(axis=(0, 1)))
    return np.stack(means).astype(np.float64)


def build_dictionary(
    normal_features: Sequence[np.ndarray],
    fraction: float = 0.5,
    seed: int = 42,
    *,
    n_steps: int = 100,
    batch_size: int = 32,
    alpha: float = 1.0,
    n_nonzero_coefs: int = 2,
    n_segments: int = 32,
) -> tuple[np.ndarray, dict[str, Any]]:
    """Learn S3R's task-aware dictionary from the normal training videos.

    Parameters
    ----------
    normal_features : one ``(T, crops, D)`` array per normal training video.
    fraction : atoms per normal video (reference: 0.5 UCF-Crime, 0.9 ShanghaiTech).
    seed : ``random_state`` of the learner (reference: 42).
    n_steps : mini-batch updates (the reference's scikit-learn 0.24 ``n_iter=100``).
    batch_size : samples (feature channels) per mini-batch.
    alpha : sparsity weight of the dictionary-learning objective.
    n_nonzero_coefs : OMP non-zeros per code (reference: 2).
    n_segments : each video is pooled to this many segments before averaging (reference: 32).

    Returns
    -------
    atoms : ndarray (n_atoms, D) float32, ``n_atoms = round(fraction * V)``.
    recipe : dict of everything that determined ``atoms``, for recording next to them.
    """
    x = _video_means(normal_features, n_segments)  # (V, D)
    n_videos, dim = x.shape
    n_atoms = int(np.around(n_videos * fraction))
    if not 0.0 < fraction <= 1.0 or n_atoms < 1:
        raise VadkitError(
            f"build_dictionary: fraction {fraction} of {n_videos} normal videos gives "
            f"{n_atoms} atoms; need a fraction in (0, 1] and at least one atom"
        )
    if n_atoms < n_nonzero_coefs:
        raise VadkitError(
            f"S3R dictionary: {n_videos} normal training videos x fraction {fraction} give "
            f"{n_atoms} atoms, fewer than the {n_nonzero_coefs} non-zero OMP codes each needs; "
            "train on more normal videos (or lower dictionary_nonzero_coefs)"
        )
    samples = np.ascontiguousarray(x.T)  # (D, V): channels are the samples, as the reference
    learner = MiniBatchDictionaryLearning(
        n_components=n_atoms,
        alpha=alpha,
        batch_size=batch_size,
        transform_algorithm="omp",
        transform_n_nonzero_coefs=n_nonzero_coefs,
        random_state=seed,
        max_iter=0,  # fit() only initialises the dictionary (SVD of all samples) here
    )
    learner.fit(samples)
    # The reference's n_iter counted mini-batches over the shuffled samples, cycled;
    # current scikit-learn counts epochs, so the steps are made one by one.
    order = np.random.default_rng(seed).permutation(dim)
    starts = range(0, dim, batch_size)
    batches = [order[s : s + batch_size] for s in starts]
    for step in range(n_steps):
        learner.partial_fit(samples[batches[step % len(batches)]])
    atoms = learner.transform(samples).T.astype(np.float32)  # (n_atoms, D)
    recipe = {
        "recipe_version": RECIPE_VERSION,
        "method": "s3r task-aware dictionary",
        "learner": "sklearn.decomposition.MiniBatchDictionaryLearning",
        "sklearn_version": sklearn.__version__,
        "n_videos": int(n_videos),
        "feature_dim": int(dim),
        "fraction": float(fraction),
        "n_atoms": n_atoms,
        "seed": int(seed),
        "n_steps": int(n_steps),
        "batch_size": int(batch_size),
        "alpha": float(alpha),
        "transform_algorithm": "omp",
        "n_nonzero_coefs": int(n_nonzero_coefs),
        "n_segments": int(n_segments),
        "video_summary": "mean over crops and pooled segments",
        "atoms": "OMP codes of the D channels over the video means, transposed",
    }
    return atoms, recipe


def load_dictionary(path: str | os.PathLike, feature_dim: int | None = None) -> np.ndarray:
    """Read a dictionary ``.npy`` (ours or the reference's ``*_dictionaries.*.npy``).

    Returns
    -------
    ndarray : (n_atoms, D) float32.
    """
    path = Path(path)
    if not path.is_file():
        raise VadkitError(f"dictionary {path} does not exist")
    try:
        atoms = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise VadkitError(f"cannot read dictionary {path}: {exc}") from None
    if atoms.ndim != 2 or (feature_dim is not None and atoms.shape[1] != feature_dim):
        want = f"(n_atoms, {feature_dim})" if feature_dim else "(n_atoms, D)"
        raise VadkitError(f"dictionary {path} has shape {atoms.shape}, expected {want}")
    return atoms.astype(np.float32)


_FINGERPRINT = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


def cached_dictionary(
    cache_dir: str | os.PathLike,
    fingerprint: str,
    normal_features: Sequence[np.ndarray] | Callable[[], Sequence[np.ndarray]],
    **build_kwargs: Any,
) -> tuple[np.ndarray, dict[str, Any]]:
    """`build_dictionary` through a cache of ``dictionary-<fingerprint>.{npy,json}`` files.

    The caller's ``fingerprint`` identifies the normal training features (e.g. a hash of the
    store manifest and the list of videos). A cached pair is used when its recipe has the same
    fingerprint and build arguments; otherwise the dictionary is built and written (the
    ``.npy`` first, the recipe JSON last, both atomically).

    Parameters
    ----------
    cache_dir : directory of the cache (created if missing).
    fingerprint : 1-128 characters of ``[A-Za-z0-9._-]``.
    normal_features : the features, or a function returning them (called only on a miss).
    **build_kwargs : passed to `build_dictionary` (fraction, seed, n_steps, ...).

    Returns
    -------
    (atoms, recipe) as `build_dictionary`; the recipe also holds ``fingerprint``.
    """
    if not isinstance(fingerprint, str) or not _FINGERPRINT.match(fingerprint):
        raise VadkitError(
            f"dictionary cache: fingerprint {fingerprint!r} must be 1-128 characters of "
            "letters, digits, '.', '_' or '-'"
        )
    build_kwargs = {
        k: v.item() if isinstance(v, np.generic) else v for k, v in sorted(build_kwargs.items())
    }
    cache = Path(cache_dir)
    npy, meta = cache / f"dictionary-{fingerprint}.npy", cache / f"dictionary-{fingerprint}.json"
    if npy.is_file() and meta.is_file():
        try:
            recipe = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise VadkitError(f"dictionary cache: cannot read {meta}: {exc}") from None
        same = recipe.get("fingerprint") == fingerprint
        same = same and recipe.get("build_kwargs") == build_kwargs
        if same and recipe.get("recipe_version") == RECIPE_VERSION:
            atoms = load_dictionary(npy, recipe.get("feature_dim"))
            if atoms.shape[0] == recipe.get("n_atoms"):
                return atoms, recipe
    features = normal_features() if callable(normal_features) else normal_features
    atoms, recipe = build_dictionary(features, **build_kwargs)
    recipe = {
        **recipe,
        "fingerprint": fingerprint,
        "build_kwargs": build_kwargs,
    }
    cache.mkdir(parents=True, exist_ok=True)
    atomic_save_npy(npy, atoms)
    atomic_write_json(meta, recipe)
    return atoms, recipe
