"""The method registry: explicit names, lazy imports, one-line errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from vadkit.errors import VadkitError
from vadkit.methods.registry import (
    get_method,
    list_methods,
    method_entry,
    register_method,
    unregister_method,
)

WEAK = ["mil", "rtfm", "s3r", "anm", "tacnet"]


def test_the_five_weak_methods_are_registered_in_order():
    assert list_methods("weak")[:5] == WEAK
    assert list_methods("one-class") == [
        "knn",
        "patch_knn",
        "motion",
        "object_speed",
        "autoencoder",
        "scene",
    ]
    assert list_methods("full") == ["aed_t"]
    assert method_entry("rtfm").module == "vadkit.methods.rtfm"


def test_listing_imports_no_method_and_no_torch():
    code = (
        "import sys; from vadkit.methods import list_methods; list_methods(); "
        "bad = [m for m in sys.modules if m == 'torch' or m.startswith('vadkit.methods.') "
        "and m != 'vadkit.methods.registry']; print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_unknown_name_lists_the_valid_ones():
    with pytest.raises(VadkitError, match="unknown method 'rtfn'; choose one of mil, rtfm") as e:
        get_method("rtfn")
    assert "\n" not in str(e.value)


def test_registered_but_absent_module_is_a_clear_error():
    register_method("ghost", "vadkit.methods.ghost_not_here", "GhostConfig", "GhostModel")
    try:
        with pytest.raises(VadkitError, match="module vadkit.methods.ghost_not_here is not") as e:
            get_method("ghost")
        assert "\n" not in str(e.value)
    finally:
        unregister_method("ghost")


def test_register_by_module_path_imports_lazily_and_checks_names():
    register_method("dc", "dataclasses", "Field", "FrozenInstanceError", summary="stdlib")
    register_method("dc_bad", "dataclasses", "NoSuchConfig", "Field")
    try:
        m = get_method("dc")
        import dataclasses

        assert m.config_cls is dataclasses.Field and m.model_cls is dataclasses.FrozenInstanceError
        with pytest.raises(VadkitError, match="dataclasses has no class NoSuchConfig"):
            get_method("dc_bad")
        with pytest.raises(VadkitError, match="already registered"):
            register_method("dc", "x", "A", "B")
        with pytest.raises(VadkitError, match="kind 'semi' is not one of weak, one-class, full"):
            register_method("dc2", "x", "A", "B", kind="semi")
    finally:
        unregister_method("dc")
        unregister_method("dc_bad")
    assert "dc" not in list_methods()


def test_the_scene_detector_is_the_registered_one_class_default():
    from vadkit.methods.oneclass import ONECLASS_SCORERS
    from vadkit.methods.oneclass.scene import SceneConfig, SceneDetector

    m = get_method("scene")
    assert m.model_cls is SceneDetector and m.kind == "one-class"
    assert method_entry("scene").input == "videos"
    assert m.build_config({}) == SceneConfig()  # the benchmark's default, unchanged
    cfg = m.build_config({"seed": 3, "object_speed": {"prior": 50.0}})
    assert cfg.seed == 3 and cfg.object_speed.prior == 50.0 and cfg.object_speed.min_speed == 0.5
    with pytest.raises(VadkitError, match="unknown keys"):
        m.build_config({"bogus": 1})
    assert "scene" not in ONECLASS_SCORERS  # fitted on videos, not on feature arrays
