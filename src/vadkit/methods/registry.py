"""One explicit registry of methods: name -> where its config and model classes live.

Nothing is imported until a method is asked for, so ``vadkit --help`` and
:func:`list_methods` never import torch or a method's module; a method whose module is
missing fails only when it is used, with a one-line :class:`~vadkit.errors.VadkitError`.

>>> "rtfm" in list_methods()
True
>>> method_entry("mil").config_class
'MILConfig'
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from vadkit.errors import VadkitError

__all__ = [
    "KINDS",
    "Method",
    "MethodEntry",
    "get_method",
    "list_methods",
    "method_entry",
    "register_method",
    "unregister_method",
]

#: What a method learns from. ``"weak"``: video-level labels (trained by ``vadkit.train``);
#: ``"one-class"``: normal videos only (registered here later, with their own fit).
KINDS = ("weak", "one-class", "full")


@dataclass(frozen=True)
class MethodEntry:
    """Where a method lives, without importing it.

    ``config_class`` / ``model_class`` are attribute names in ``module`` or, for methods
    registered at run time (tests, plug-ins), the classes themselves.
    """

    name: str
    module: str
    config_class: str | type
    model_class: str | type
    kind: str = "weak"
    summary: str = ""
    #: what ``fit`` takes: ``"features"`` (arrays: store snippets, flow cells, maps) or
    #: ``"videos"`` (frame folders, files or arrays of whole videos: the ``scene`` detector)
    input: str = "features"


@dataclass(frozen=True)
class Method:
    """A method with its classes imported: ``config_cls.from_dict(d)``, ``model_cls(config)``."""

    name: str
    config_cls: type
    model_cls: type
    kind: str
    summary: str = ""

    def build_config(self, values: dict[str, Any] | None = None, where: str = "") -> Any:
        """``config_cls.from_dict(values)``; a bad value is a one-line VadkitError."""
        try:
            return self.config_cls.from_dict(dict(values or {}))
        except VadkitError as exc:
            raise VadkitError(f"{where}: {exc}" if where else str(exc)) from None
        except (TypeError, ValueError) as exc:
            prefix = f"{where}: " if where else ""
            raise VadkitError(f"{prefix}{self.name} config: {exc}") from None


_REGISTRY: dict[str, MethodEntry] = {}


def register_method(
    name: str,
    module: str,
    config_class: str | type,
    model_class: str | type,
    *,
    kind: str = "weak",
    summary: str = "",
    replace: bool = False,
    input: str = "features",
) -> MethodEntry:
    """Register ``name``; ``replace=True`` to swap an existing entry (tests, plug-ins)."""
    if kind not in KINDS:
        raise VadkitError(f"method {name!r}: kind {kind!r} is not one of {', '.join(KINDS)}")
    if name in _REGISTRY and not replace:
        raise VadkitError(f"method {name!r} is already registered ({_REGISTRY[name].module})")
    entry = MethodEntry(name, module, config_class, model_class, kind, summary, input)
    _REGISTRY[name] = entry
    return entry


def unregister_method(name: str) -> None:
    """Remove ``name`` (no error when absent)."""
    _REGISTRY.pop(name, None)


def list_methods(kind: str | None = None) -> list[str]:
    """Registered names (of one ``kind`` if given), in registration order; imports nothing."""
    return [n for n, e in _REGISTRY.items() if kind is None or e.kind == kind]


def method_entry(name: str) -> MethodEntry:
    """The entry of ``name``; an unknown name is an error listing the valid ones."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise VadkitError(
            f"unknown method {name!r}; choose one of {', '.join(list_methods())}"
        ) from None


def get_method(name: str) -> Method:
    """Import ``name``'s module and return its classes.

    Raises
    ------
    VadkitError
        Unknown name (lists the valid ones), module not installed, or class missing.
    """
    entry = method_entry(name)
    needs_import = isinstance(entry.config_class, str) or isinstance(entry.model_class, str)
    mod = None
    if needs_import:
        try:
            mod = importlib.import_module(entry.module)
        except ModuleNotFoundError as exc:
            if exc.name and entry.module.startswith(exc.name):
                raise VadkitError(
                    f"method {name!r} is registered but its module {entry.module} is not "
                    "installed in this vadkit; update vadkit or choose one of "
                    f"{', '.join(_available_hint())}"
                ) from None
            raise

    def resolve(cls: str | type) -> type:
        if not isinstance(cls, str):
            return cls
        found = getattr(mod, cls, None)
        if found is None:
            raise VadkitError(f"method {name!r}: {entry.module} has no class {cls}")
        return found

    return Method(
        name, resolve(entry.config_class), resolve(entry.model_class), entry.kind, entry.summary
    )


def _available_hint() -> list[str]:
    import importlib.util

    out = []
    for n, e in _REGISTRY.items():
        try:
            if importlib.util.find_spec(e.module) is not None:
                out.append(n)
        except ModuleNotFoundError:
            continue
    return out or ["(none installed)"]


# --- the weakly-supervised methods: video labels ---
register_method(
    "mil",
    "vadkit.methods.mil",
    "MILConfig",
    "MILModel",
    summary="Sultani et al. CVPR 2018: MIL ranking on 32-segment bags",
)
register_method(
    "rtfm",
    "vadkit.methods.rtfm",
    "RTFMConfig",
    "RTFMModel",
    summary="Tian et al. ICCV 2021: robust temporal feature magnitude learning",
)
register_method(
    "s3r",
    "vadkit.methods.s3r",
    "S3RConfig",
    "S3RModel",
    summary="Wu et al. ECCV 2022: RTFM with a dictionary of normal prototypes",
)
register_method(
    "anm",
    "vadkit.methods.anm",
    "AnmConfig",
    "AnmModel",
    summary="Watanabe et al. 2022: salient-feature attention classifier",
)
register_method(
    "tacnet",
    "vadkit.methods.tacnet",
    "TACnetConfig",
    "TACnetModel",
    summary="TACnet: temporal attention clustering network (attention MIL + k-means)",
)
register_method(
    "ur_dmu",
    "vadkit.methods.ur_dmu",
    "UrDmuConfig",
    "UrDmuModel",
    summary="Zhou et al. AAAI 2023: dual memory units with uncertainty regulation",
)

# --- fully supervised: frame labels and classes ---
register_method(
    "aed_t",
    "vadkit.methods.aed_t",
    "AedTConfig",
    "AedTModel",
    kind="full",
    summary="Wan et al. 2021 (LAD2000): ConvLSTM over I3D windows, class and regression heads",
)

# --- one-class scorers: normal videos only (scikit-learn style fit / score estimators) ---
for _name, _module, _config, _scorer, _summary in (
    (
        "knn",
        "vadkit.methods.oneclass.knn",
        "KNNConfig",
        "KNNScorer",
        "kNN distance, k-center coreset",
    ),
    (
        "patch_knn",
        "vadkit.methods.oneclass.patch_knn",
        "PatchKNNConfig",
        "PatchKNNScorer",
        "per-patch nearest-neighbour distance on spatial feature maps",
    ),
    (
        "motion",
        "vadkit.methods.oneclass.motion",
        "MotionConfig",
        "MotionScorer",
        "per-cell optical-flow normality learned on normal video",
    ),
    (
        "object_speed",
        "vadkit.methods.oneclass.object_speed",
        "ObjectSpeedConfig",
        "ObjectSpeedScorer",
        "speed of the fastest object-sized flow window relative to normal, per cell",
    ),
    (
        "autoencoder",
        "vadkit.methods.autoencoder",
        "AutoencoderConfig",
        "AutoencoderScorer",
        "space-time-embedding autoencoder: reconstruction error and centroid distances",
    ),
):
    register_method(_name, _module, _config, _scorer, kind="one-class", summary=_summary)
register_method(
    "scene",
    "vadkit.methods.oneclass.scene",
    "SceneConfig",
    "SceneDetector",
    kind="one-class",
    summary="the one-class default of a fixed camera: object speed + motion-gated patch kNN, "
    "fused and chosen on synthetic anomalies of held-out normal videos",
    input="videos",
)
