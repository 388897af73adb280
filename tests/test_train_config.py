"""Run configs: the shipped YAML files, overrides and one-line key errors."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from vadkit.errors import VadkitError
from vadkit.methods.registry import get_method, list_methods
from vadkit.train.config import (
    DataConfig,
    TrainConfig,
    apply_overrides,
    build_method_config,
    check_override_keys,
    dataclass_from_dict,
    load_yaml,
    section_fields,
)
from vadkit.train.schedule import resolve_schedule

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
SHIPPED = sorted(CONFIGS.glob("*/*.yaml"))
DATASETS = {"ucf_crime": "ucf-crime", "shanghaitech": "shanghaitech", "xd_violence": "xd-violence"}
DATASETS_FULL = {"lad2000": "lad2000"}  # configs of the fully-supervised methods
DATASETS_DEMO = {"demo": "csv"}  # quick-start size: the interval CSV of `vadkit synth`


def test_every_weak_method_ships_a_config_per_dataset():
    expected = {CONFIGS / m / f"{d}.yaml" for m in list_methods("weak") for d in DATASETS}
    assert expected <= set(SHIPPED), sorted(str(p) for p in expected - set(SHIPPED))
    assert len(SHIPPED) >= 15


def _same_type(value, default) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    if isinstance(default, tuple | list):
        return isinstance(value, list | tuple)
    if default is None:
        return True
    return isinstance(value, type(default))


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shipped_config_keys_exist_in_the_method_config(path: Path):
    cfg = load_yaml(path)
    assert cfg["method"] == path.parent.name
    assert cfg["dataset"] == {**DATASETS, **DATASETS_FULL, **DATASETS_DEMO}[path.stem]
    train = dataclass_from_dict(TrainConfig, cfg["train"], str(path))
    dataclass_from_dict(DataConfig, cfg["data"], str(path))
    try:
        method = get_method(cfg["method"])
    except VadkitError as exc:
        pytest.skip(f"method {cfg['method']!r} is not importable in this tree: {exc}")
    fields = {f.name: f for f in dataclasses.fields(method.config_cls)}
    unknown = sorted(set(cfg["model"]) - set(fields))
    assert not unknown, f"{path}: keys not in {method.config_cls.__name__}: {unknown}"
    defaults = method.config_cls()
    for key, value in cfg["model"].items():
        default = getattr(defaults, key)
        assert _same_type(value, default), f"{path}: model.{key}={value!r} vs {default!r}"
    built = build_method_config(method, cfg["model"], str(path))
    for key, value in cfg["model"].items():
        got = getattr(built, key)
        assert (list(got) if isinstance(got, tuple) else got) == value, key
    sched = resolve_schedule(train, built, n_normal=640)
    assert sched.batch_per_class >= 1 and sched.total_steps >= 1


def test_overrides_apply_and_typos_are_one_line_errors(tmp_path):
    cfg = {"method": "rtfm", "model": {"lr": 0.001}, "train": {}, "data": {}}
    out = apply_overrides(cfg, ["model.lr=5e-4", "train.seed=3", "data.train=/x", "dataset=csv"])
    assert out["model"]["lr"] == 0.0005 and out["train"]["seed"] == 3
    assert out["data"]["train"] == "/x" and out["dataset"] == "csv"
    assert cfg["model"]["lr"] == 0.001  # the input is not changed
    for bad, match in [
        ("model.lr", "expected section.key=value"),
        ("modle.lr=1", r"unknown key 'modle'; did you mean model\? valid keys: model, train, data"),
        ("a.b.c=1", "one dot"),
        ("methd=x", "unknown key 'methd'"),
    ]:
        with pytest.raises(VadkitError, match=match) as exc:
            apply_overrides(cfg, [bad])
        assert "\n" not in str(exc.value)


def test_unknown_keys_in_files_name_the_key_and_the_valid_ones(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("method: rtfm\ntrian: {}\n")
    with pytest.raises(
        VadkitError,
        match=r"unknown key 'trian'; did you mean train\? valid keys: method, preset, dataset",
    ):
        load_yaml(p)
    match = r"train: unknown key 'iters'; did you mean iterations\? valid keys: batch_per"
    with pytest.raises(VadkitError, match=match):
        dataclass_from_dict(TrainConfig, {"iters": 3}, "c.yaml train")
    p.write_text("method: [unclosed\n")
    with pytest.raises(VadkitError, match="cannot read config") as exc:
        load_yaml(p)
    assert "\n" not in str(exc.value)
    with pytest.raises(VadkitError, match="config file not found"):
        load_yaml(tmp_path / "none.yaml")


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"iterations": 5, "epochs": 2}, "iterations or epochs, not both"),
        ({"selection": "test"}, "choose one of validation, oracle, last"),
        ({"val_fraction": 0.0}, "needs train.val_fraction > 0"),
        ({"batch_per_class": 0}, "batch_per_class must be an integer >= 1"),
    ],
)
def test_bad_train_values(values, match):
    with pytest.raises(VadkitError, match=match):
        dataclass_from_dict(TrainConfig, values, "train")


def test_an_unknown_set_key_names_the_set_and_the_close_keys():
    fields = section_fields(get_method("rtfm").config_cls)
    # 'lr' is an RTFMConfig field, 'iterations' a TrainConfig one: typos of both are caught
    with pytest.raises(VadkitError) as exc:
        check_override_keys(["model.lrr=0.1"], fields)
    msg = str(exc.value)
    assert msg.startswith("--set model.lrr=0.1: unknown key 'lrr'; did you mean lr")
    with pytest.raises(VadkitError, match=r"--set train.iteration=5: .*did you mean iterations"):
        check_override_keys(["train.iteration=5"], fields)
    check_override_keys(
        ["model.lr=0.1", "train.iterations=5", "data.train=/x", "method=rtfm"], fields
    )


def test_a_preset_sets_model_values_under_the_model_section():
    # --set preset=reference is a top-level key; the preset's values sit under model values
    cfg = apply_overrides({"method": "tacnet", "model": {}}, ["preset=reference"])
    assert cfg["preset"] == "reference"
    tacnet = get_method("tacnet")
    ref = build_method_config(tacnet, {"feature_dim": 64}, "run", cfg["preset"])
    # the reference code's values (ckjeter/TACnet config.py, loss.py): sparsity 0.05 on the
    # sum of 32 segment scores, lr 1e-5, histogram smoothness, per-bag terms summed
    assert (ref.w_sparsity, ref.lr, ref.smooth, ref.batch_reduction) == (
        0.05, 1e-5, "histogram", "sum",
    )  # fmt: skip
    mine = build_method_config(tacnet, {"feature_dim": 64, "lr": 3e-4}, "run", "reference")
    assert mine.lr == 3e-4 and mine.w_sparsity == 0.05  # a model value wins over the preset
    default = build_method_config(tacnet, {"feature_dim": 64}, "run", None)
    assert default == build_method_config(tacnet, {"feature_dim": 64}, "run", "default")
    assert default.w_sparsity == pytest.approx(0.05 / 32) and default.lr == 1e-4
    with pytest.raises(VadkitError, match="has no preset 'refrence'; presets: default, reference"):
        build_method_config(tacnet, {}, "run", "refrence")
    with pytest.raises(VadkitError, match="has no preset 'reference'; presets: default$"):
        build_method_config(get_method("ur_dmu"), {}, "run", "reference")
