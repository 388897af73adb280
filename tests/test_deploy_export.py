"""ONNX / OpenVINO export of every method head: parity with PyTorch on real I3D features.

The expected values are the PyTorch models' own ``score`` (the reference implementation of
each method in vadkit); the exported graph plus its numpy steps must agree to 1e-4 on both
ONNX Runtime and OpenVINO. The heads are seeded, untrained models: parity is about the graph
and the numpy around it, not the weights. One-class scorers have no exported head; the test
checks the one-line reason.
"""

from __future__ import annotations

import numpy as np
import onnxruntime  # noqa: E402,F401  (the test extra installs it; never a silent skip)
import pytest

torch = pytest.importorskip("torch")

from vadkit.deploy.export import TOLERANCE, check_parity, export_head  # noqa: E402
from vadkit.deploy.exported import load_exported_head  # noqa: E402
from vadkit.methods.registry import get_method  # noqa: E402

HEADS = ["mil", "rtfm", "s3r", "ur_dmu", "tacnet", "anm", "aed_t"]
SMALL = {  # small but shape-faithful configs: tests stay fast on 2 cores
    "aed_t": {
        "max_seqlen": 5,
        "frames_per_snippet": 4,
        "n_classes": 3,
        "hidden_channels": 32,
        "fc_down": 256,
        "head_hidden": 64,
    },
    "anm": {"window": 7, "stride": 5},
    "rtfm": {"conv_channels": 128, "nonlocal_channels": 64},
    "s3r": {"trunk_channels": 128, "nonlocal_channels": 64, "n_atoms": 20},
}
DIM = 512  # the first 512 of the real 2048 I3D dimensions


@pytest.fixture(scope="module")
def real_videos(shared_data):
    """Two real ShanghaiTech I3D videos (48 and more snippets), 2 of their 10 crops."""
    root = shared_data / "i3d_samples" / "shanghaitech"
    out = {}
    for name in ("01_001_i3d", "01_004_i3d"):
        a = np.load(root / f"{name}.npy")
        out[name] = np.ascontiguousarray(a[:, :2, :DIM])
    out["short"] = out["01_001_i3d"][:3]  # shorter than windows / top-k / segments
    return out


def _model(name: str, dim: int):
    torch.manual_seed(0)
    method = get_method(name)
    model = method.model_cls(method.build_config({"feature_dim": dim, **SMALL.get(name, {})}))
    if name == "s3r":
        atoms = torch.randn(model.dictionary.shape, generator=torch.Generator().manual_seed(1))
        model.set_dictionary(atoms)
    return model.eval()


@pytest.mark.real_data
@pytest.mark.parametrize("name", HEADS)
def test_onnx_head_matches_pytorch(name, real_videos, tmp_path):
    model = _model(name, DIM)
    path, side = export_head(name, model, tmp_path / f"{name}.onnx", "onnx", {"kind": "weak"})
    assert side.is_file()
    parity = check_parity(model, path, real_videos, "i3d_samples/shanghaitech")
    print(f"{name}: onnxruntime max |diff| {parity['max_abs_diff']:.2e} (tol {TOLERANCE:.0e})")
    assert parity["ok"], parity
    # the time axis is dynamic: lengths 48, the second video's and 3 all ran on one graph
    assert {len(v) for v in real_videos.values()} >= {48, 3}


@pytest.mark.real_data
@pytest.mark.parametrize("name", HEADS)
def test_openvino_head_matches_pytorch(name, real_videos, tmp_path):
    pytest.importorskip("openvino")
    model = _model(name, DIM)
    path, _ = export_head(name, model, tmp_path / f"{name}.xml", "openvino", {"kind": "weak"})
    assert path.is_file() and path.with_suffix(".bin").is_file()
    parity = check_parity(model, path, real_videos, "i3d_samples/shanghaitech")
    print(f"{name}: openvino max |diff| {parity['max_abs_diff']:.2e} (tol {TOLERANCE:.0e})")
    assert parity["runtime"].startswith("openvino") and parity["ok"], parity


def test_exported_scores_are_not_constant(tmp_path):
    # guards against a graph that traced a data-dependent branch into a constant
    model = _model("rtfm", DIM)
    path, _ = export_head("rtfm", model, tmp_path / "r.onnx")
    x = np.random.default_rng(0).normal(size=(20, 1, DIM)).astype(np.float32)
    s = load_exported_head(path).score(x)
    assert s.shape == (20,) and np.ptp(s) > 1e-4


@pytest.mark.parametrize(
    ("name", "why"),
    [("knn", "numpy already"), ("autoencoder", "not an exported graph yet"), ("nope", "supports")],
)
def test_unexportable_head_is_one_line_error(name, why, tmp_path):
    from vadkit.errors import VadkitError

    with pytest.raises(VadkitError, match="no exportable head") as err:
        export_head(name, _model("rtfm", DIM), tmp_path / "k.onnx")
    assert why in str(err.value) and "\n" not in str(err.value)
    assert not (tmp_path / "k.onnx").exists()


@pytest.fixture(scope="module")
def ped2_frames(shared_data):
    """4 real Ped2 Test004 frames prepared as EfficientNet-Lite0 input (resize 256, crop 224)."""
    from vadkit.deploy.export import backbone_inputs

    x = backbone_inputs(shared_data / "ped2" / "testing" / "frames" / "04", "efficientnet_lite0")
    assert x.shape == (4, 3, 224, 224)
    return x


@pytest.mark.real_data
@pytest.mark.parametrize(("fmt", "runtime"), [("onnx", "onnxruntime"), ("openvino", "openvino")])
def test_efficientnet_lite0_backbone_matches_pytorch(fmt, runtime, ped2_frames, tmp_path):
    """The exported backbone's 1280-d features equal PyTorch's to 1e-4 of their largest value."""
    import json

    from vadkit.deploy.export import export_backbone

    out = tmp_path / ("effnet.onnx" if fmt == "onnx" else "effnet.xml")
    res = export_backbone("efficientnet_lite0", out, fmt, check_inputs=ped2_frames, source="ped2")
    p = res.parity
    print(f"efficientnet_lite0 {p['runtime']}: max |diff| / max |feature| {p['max_abs_diff']:.2e}")
    assert p["runtime"].startswith(runtime) and p["videos"] == 4
    assert p["ok"] and p["max_abs_diff"] <= 1e-4 and p["relative"]
    side = json.loads(res.sidecar.read_text())
    assert side["out_dim"] == 1280 and side["input_shape"] == ["batch", 3, 224, 224]
    # independent of the recorded number: run the file again on the frames against torch
    from vadkit.backbones.registry import build_backbone
    from vadkit.deploy.exported import ExportedRuntime

    net, _, _ = build_backbone("efficientnet_lite0", None)
    with torch.no_grad():
        ref = net.eval()(torch.from_numpy(ped2_frames)).numpy()
    got = ExportedRuntime(out).run(ped2_frames)[0]
    assert got.shape == (4, 1280) and np.abs(ref).max() > 0.5  # real, non-trivial features
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-4 * np.abs(ref).max())
