"""``vadkit export`` on a trained run directory, and ``vadkit predict --model model.onnx``.

The run is an RTFM head trained briefly on generated 1280-d features that carry the real
EfficientNet-Lite0 store spec (2 frames of every 16, as tests/test_predict.py); its test
store, on which ``export`` checks parity, is the real EfficientNet-Lite0 extraction of Ped2
``Test004``. The expected scores are the PyTorch model's own (``load_model(run_dir)``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.real_data

OPTS = {"snippet_length": 2, "frame_step": 8, "stride": 16, "batch_size": 8}
TEST_VIDEO = "04"


@pytest.fixture(scope="module", autouse=True)
def _one_thread(torch_one_thread):
    yield


@pytest.fixture(scope="module")
def ped2(shared_data) -> Path:
    return shared_data / "ped2"


@pytest.fixture(scope="module")
def run_dir(ped2, tmp_path_factory) -> Path:
    """A small RTFM run: generated training features, real Ped2 Test004 test features."""
    from vadkit.backbones.registry import get_config
    from vadkit.extract import ExtractOptions, extract, weights_identity
    from vadkit.extract.options import store_info
    from vadkit.io.inputs import InputItem
    from vadkit.io.store import StoreWriter
    from vadkit.methods.registry import get_method
    from vadkit.train import train_run

    root = tmp_path_factory.mktemp("export-run")
    opts = ExtractOptions(**OPTS)
    test = [InputItem(TEST_VIDEO, ped2 / "testing" / "frames" / TEST_VIDEO, "1")]
    res = extract(test, root / "test", "efficientnet_lite0", options=opts, progress=False)
    assert res.ok, res.failed
    _, sha = weights_identity("efficientnet_lite0")
    info = store_info(get_config("efficientnet_lite0"), opts, sha)
    rng = np.random.default_rng(0)
    w = StoreWriter(root / "train", info)
    for i in range(12):  # real-feature scale: EfficientNet-Lite0 means are in [0, ~3]
        x = rng.gamma(1.0, 0.3, (int(rng.integers(12, 20)), 1, 1280)).astype(np.float32)
        if i % 2:
            x[3:7, :, :320] += 1.0
        w.add(f"g{i:02d}", x, label=i % 2, split="train")
    w.finalize()
    cfg = {"method": "rtfm", "model": {"feature_dim": 1280, "conv_channels": 320,
                                       "nonlocal_channels": 64},
           "train": {"iterations": 20, "batch_per_class": 3, "val_every": 10,
                     "val_fraction": 0.34, "seed": 0},
           "data": {"train": str(root / "train"), "test": str(root / "test")}}  # fmt: skip
    train_run(cfg, get_method("rtfm"), root / "rtfm", echo=lambda *_: None)
    return root / "rtfm"


@pytest.mark.parametrize(("fmt", "name"), [("onnx", "model.onnx"), ("openvino", "model.xml")])
def test_cli_export_writes_model_and_recorded_parity(fmt, name, run_dir, tmp_path, capsys):
    from vadkit.cli.main import main

    out = tmp_path / name
    code = main(["export", str(run_dir), "--format", fmt, "--out", str(out)])
    cap = capsys.readouterr()
    printed = cap.out
    assert code in (0, None), cap.err
    assert out.is_file() and (fmt == "onnx" or out.with_suffix(".bin").is_file())
    side = json.loads(Path(str(out) + ".json").read_text())
    parity = side["parity"]
    print(printed)
    assert parity["runtime"].startswith("onnxruntime" if fmt == "onnx" else "openvino")
    assert parity["videos"] == 1 and parity["source"].endswith("test")  # the run's test store
    assert parity["max_abs_diff"] < 1e-4 and parity["ok"]
    assert f"{parity['max_abs_diff']:.2e}" in printed and "ok" in printed
    # the sidecar carries what predict needs: feature spec and the calibrated threshold
    assert side["feature_spec"]["backbone"] == "efficientnet_lite0"
    thr = json.loads((run_dir / "threshold.json").read_text())["threshold"]
    assert side["thresholds"]["threshold"] == thr
