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


# ------------------------------------------------- predict with no PyTorch on the scoring path

BLOCK_TORCH = """
import sys
class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            sys.stderr.write(f"TORCH IMPORT ATTEMPTED: {name}\\n")
            raise ImportError(f"torch is blocked in this test: {name}")
sys.meta_path.insert(0, _NoTorch())
"""


@pytest.fixture(scope="module")
def exported(run_dir, tmp_path_factory) -> dict[str, Path]:
    from vadkit.deploy.export import export_backbone, export_run

    root = tmp_path_factory.mktemp("exported")
    export_run(run_dir, root / "model.onnx", "onnx")
    export_run(run_dir, root / "model.xml", "openvino")
    export_backbone("efficientnet_lite0", root / "effnet.onnx", "onnx")
    return {"model": root / "model.onnx", "model_xml": root / "model.xml",
            "backbone": root / "effnet.onnx"}  # fmt: skip


def test_numpy_resize_gives_torch_uint8_bytes(ped2):
    """The torch-free resize equals torch's uint8 antialiased bilinear kernel byte for byte."""
    import torch
    import torch.nn.functional as F
    from PIL import Image

    from vadkit.deploy.exported_backbone import resize_short_uint8

    files = sorted((ped2 / "testing" / "frames" / TEST_VIDEO).glob("*.jpg"))[:3]
    rng = np.random.default_rng(0)
    images = [np.stack([np.asarray(Image.open(f).convert("RGB")) for f in files])]
    images += [rng.integers(0, 256, (2, h, w, 3), dtype=np.uint8)
               for h, w in ((480, 640), (100, 90), (256, 300))]  # fmt: skip
    for x in images:
        got = resize_short_uint8(x, 256)
        h, w = x.shape[1:3]
        size = (256, int(256 * w / h)) if h <= w else (int(256 * h / w), 256)
        t = torch.from_numpy(x).permute(0, 3, 1, 2)
        ref = F.interpolate(t, size=size, mode="bilinear", antialias=True, align_corners=False)
        np.testing.assert_array_equal(got, ref.permute(0, 2, 3, 1).numpy())


def test_exported_backbone_features_equal_vadkit_extract(exported, run_dir, ped2):
    """Test004 through effnet.onnx gives the features `vadkit extract` stored for it."""
    from vadkit.deploy import load_model
    from vadkit.deploy.exported_backbone import load_exported_backbone
    from vadkit.io.store import FeatureStore
    from vadkit.io.stream import FrameStream

    model = load_model(exported["model"])
    backbone = load_exported_backbone(exported["backbone"], model)
    frames = FrameStream(ped2 / "testing" / "frames" / TEST_VIDEO, TEST_VIDEO, fps=10.0)
    got = backbone.encode(frames, model.feature_spec.info)
    ref = FeatureStore.open(run_dir.parent / "test").load(TEST_VIDEO)
    assert got.shape == ref.shape == (12, 1, 1280)  # 180 frames, snippets every 16
    rel = np.abs(got - ref).max() / np.abs(ref).max()
    print(f"exported-backbone features vs vadkit extract: max |diff| / max |feature| {rel:.2e}")
    assert rel < 1e-4


def test_predict_exported_model_imports_no_torch(exported, run_dir, ped2, tmp_path):
    import os
    import subprocess
    import sys

    from vadkit.deploy import find_events, load_model, predict_video

    block = tmp_path / "block"
    block.mkdir()
    (block / "sitecustomize.py").write_text(BLOCK_TORCH)
    src = Path(__file__).resolve().parents[1] / "src"
    env = {**os.environ, "PYTHONPATH": f"{block}{os.pathsep}{src}"}
    probe = subprocess.run([sys.executable, "-c", "import torch"], env=env, capture_output=True,
                           text=True)  # fmt: skip
    assert probe.returncode != 0 and "TORCH IMPORT ATTEMPTED" in probe.stderr  # blocker works
    folder = ped2 / "testing" / "frames" / TEST_VIDEO
    ref = predict_video(load_model(run_dir), folder, fps=10.0)  # PyTorch: extract + head
    assert np.ptp(ref.frame_scores) > 1e-3  # a curve, not a constant
    # the exported model carries the run's calibrated threshold ...
    assert load_model(exported["model"]).threshold == pytest.approx(ref.threshold)
    # ... which finds no event on this briefly trained run; so that events are compared, the
    # threshold is put in the widest gap of the middle half of the PyTorch scores (> 1e-4
    # from every score, so a 1e-4 score difference cannot move an event boundary)
    s = np.unique(ref.frame_scores)
    mid = s[len(s) // 4 : 3 * len(s) // 4 + 1]
    i = int(np.argmax(np.diff(mid)))
    assert mid[i + 1] - mid[i] > 2e-4
    thr = float((mid[i] + mid[i + 1]) / 2)
    ref_events = find_events(ref.frame_scores, thr, fps=10.0)
    assert len(ref_events) >= 1
    out = tmp_path / "pred"
    cmd = [sys.executable, "-m", "vadkit.cli", "predict", str(folder), "--model",
           str(exported["model"]), "--backbone-model", str(exported["backbone"]),
           "--out", str(out), "--fps", "10", "--threshold", repr(thr)]  # fmt: skip
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    print(res.stdout, res.stderr)
    assert res.returncode == 0, res.stderr
    assert "TORCH IMPORT ATTEMPTED" not in res.stderr
    got = json.loads((out / f"{TEST_VIDEO}.frames.json").read_text())
    assert len(got["frame_scores"]) == ref.n_frames == 180
    diff = np.abs(np.asarray(got["frame_scores"]) - ref.frame_scores).max()
    print(f"torch-free predict vs PyTorch predict: max |frame score diff| {diff:.2e}")
    assert diff < 1e-4
    assert got["settings"]["threshold"] == thr
    # the same events: frame spans and peaks
    events = json.loads((out / f"{TEST_VIDEO}.events.json").read_text())["events"]
    assert [(e["start_frame"], e["end_frame"]) for e in events] == [
        (e.start_frame, e.end_frame) for e in ref_events
    ]
    for e, r in zip(events, ref_events, strict=True):
        assert e["peak_score"] == pytest.approx(r.peak_score, abs=1e-4)


# ------------------------------------------------------ missing runtimes, unexportable runs


@pytest.mark.parametrize(("hidden", "key"), [("onnxruntime", "model"), ("openvino", "model_xml")])
def test_missing_runtime_is_one_line_error_naming_the_extra(
    hidden, key, exported, ped2, tmp_path, monkeypatch, capsys
):
    import sys

    from vadkit.cli.main import main

    monkeypatch.setitem(sys.modules, hidden, None)  # `import hidden` now raises ImportError
    folder = ped2 / "testing" / "frames" / TEST_VIDEO
    code = main(["predict", str(folder), "--model", str(exported[key]), "--backbone-model",
                 str(exported["backbone"]), "--out", str(tmp_path / "p")])  # fmt: skip
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == (
        f'vadkit: error: {hidden} is not installed; pip install "vadkit[export]" '
        "(onnx, onnxruntime, openvino)"
    )


def test_export_without_onnx_names_the_extra(run_dir, tmp_path, monkeypatch, capsys):
    import sys

    from vadkit.cli.main import main

    monkeypatch.setitem(sys.modules, "onnx", None)
    code = main(["export", str(run_dir), "--out", str(tmp_path / "m.onnx")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "\n" not in err
    assert 'onnx is not installed; pip install "vadkit[export]"' in err
    assert not (tmp_path / "m.onnx").exists()


def test_export_of_one_class_run_says_why_in_one_line(run_dir, tmp_path, capsys):
    """A kNN run (fitted on the generated normal training videos) has no exported head."""
    from vadkit.cli.main import main
    from vadkit.deploy.oneclass_run import train_oneclass_run

    knn = tmp_path / "knn"
    train_oneclass_run(run_dir.parent / "train", knn, scorer="knn")
    code = main(["export", str(knn), "--out", str(tmp_path / "k.onnx")])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert err == (
        f"vadkit: error: {knn}: method 'knn' has no exportable head (it is a "
        "nearest-neighbour search over a stored memory bank, numpy already)"
    )
    assert not (tmp_path / "k.onnx").exists()
