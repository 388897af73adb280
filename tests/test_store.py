"""FeatureStore contract: layout, manifest, atomic writes, memory-mapped reads, checks."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from vadkit.cli.main import main
from vadkit.errors import VadkitError
from vadkit.io.check import allowed_T, check_store, summarize
from vadkit.io.store import SCHEMA_VERSION, FeatureStore, StoreInfo, StoreWriter, safe_file_stem

INFO = StoreInfo(
    backbone="test", weights_sha256="random-init", dim=8, crops=2, padding="repeat_last"
)


def make_store(path, n=3, **kw):
    w = StoreWriter(path, kw.pop("info", INFO))
    rng = np.random.default_rng(0)
    for i in range(n):
        T = 2 + i
        w.add(
            f"v{i}",
            rng.random((T, 2, 8), dtype=np.float32),
            label=i % 2,
            n_frames=16 * T,
            cls="Normal" if i % 2 == 0 else "Fight",
            split="test",
            fps=25.0,
        )
    return w.finalize(**kw)


def test_roundtrip_manifest_and_mmap(tmp_path):
    store = make_store(tmp_path / "s")
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    assert manifest["schema_version"] == SCHEMA_VERSION
    assert manifest["store"]["dim"] == 8 and manifest["store"]["crops"] == 2
    assert manifest["store"]["vadkit_version"]
    assert [v["id"] for v in manifest["videos"]] == ["v0", "v1", "v2"]
    assert manifest["videos"][1]["class"] == "Fight" and manifest["videos"][1]["label"] == 1
    x = store.load("v2")
    assert isinstance(x, np.memmap) and x.shape == (4, 2, 8) and x.dtype == np.float32
    assert store.select(label=1) == ["v1"]
    assert check_store(tmp_path / "s") == []


def test_finalize_order_and_unknown_video(tmp_path):
    store = make_store(tmp_path / "s", order=["v2", "v0"])
    assert store.ids == ["v2", "v0", "v1"]
    with pytest.raises(VadkitError, match="unknown video 'nope'"):
        store.load("nope")


def test_wrong_shape_is_rejected_and_nothing_lost(tmp_path):
    w = StoreWriter(tmp_path / "s", INFO)
    w.add("ok", np.zeros((3, 2, 8), np.float32))
    with pytest.raises(VadkitError, match=r"video 'bad': features have shape \(3, 8\)"):
        w.add("bad", np.zeros((3, 8), np.float32))
    assert w.has("ok") and not w.has("bad")
    assert len(w.finalize()) == 1


def test_recipe_mismatch_is_an_error(tmp_path):
    make_store(tmp_path / "s")
    other = StoreInfo(backbone="other", weights_sha256="x", dim=8, crops=2)
    with pytest.raises(VadkitError, match="was made differently"):
        StoreWriter(tmp_path / "s", other)


def test_safe_stems_are_distinct():
    a, b = safe_file_stem("a/b#1"), safe_file_stem("a_b_1")
    assert a != b and "/" not in a and "#" not in a
    assert safe_file_stem("01_001") == "01_001"


def test_check_reports_every_problem_with_video_id(tmp_path):
    make_store(tmp_path / "s")
    store = FeatureStore.open(tmp_path / "s")
    arr = np.array(store.load("v0"))
    arr[0, 0, 0] = np.nan
    arr[1, 0, 0] = np.inf
    np.save(store.file("v0"), arr)
    np.save(store.file("v1"), np.zeros((3, 2, 5), np.float32))  # wrong dim
    store.file("v2").unlink()
    msgs = [str(p) for p in check_store(tmp_path / "s")]
    assert any("video 'v0'" in m and "1 NaN and 1 Inf" in m for m in msgs)
    assert any("video 'v1'" in m and "feature dim 5" in m for m in msgs)
    assert any("video 'v2'" in m and "missing" in m for m in msgs)


def test_check_T_against_n_frames(tmp_path):
    w = StoreWriter(tmp_path / "s", INFO)
    w.add("short", np.zeros((2, 2, 8), np.float32), n_frames=481)  # repeat_last -> 31
    w.finalize()
    (problem,) = check_store(tmp_path / "s")
    assert problem.video_id == "short" and "T=2 does not fit n_frames=481" in problem.message


def test_allowed_T_rules():
    unknown = StoreInfo(backbone="i3d", weights_sha256="unknown", dim=1, crops=1)
    assert allowed_T(481, unknown) == {30, 31}
    assert allowed_T(480, unknown) == {30}
    seg = StoreInfo(backbone="c3d", weights_sha256="unknown", dim=1, crops=1, n_segments=32)
    assert allowed_T(347, seg) == {32}


def test_open_errors(tmp_path):
    with pytest.raises(VadkitError, match="not a directory"):
        FeatureStore.open(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(VadkitError, match="manifest.json is missing"):
        FeatureStore.open(tmp_path / "empty")
    (tmp_path / "empty" / "manifest.json").write_text('{"schema_version": 99}')
    with pytest.raises(VadkitError, match="schema_version 99"):
        FeatureStore.open(tmp_path / "empty")


def test_cli_store_check_and_info(tmp_path, capsys):
    make_store(tmp_path / "s")
    assert main(["store", "check", str(tmp_path / "s")]) == 0
    assert "OK" in capsys.readouterr().out
    assert main(["store", "info", str(tmp_path / "s")]) == 0
    assert "backbone   test" in capsys.readouterr().out
    np.save(FeatureStore.open(tmp_path / "s").file("v1"), np.zeros((3, 2, 5), np.float32))
    assert main(["store", "check", str(tmp_path / "s")]) == 1
    assert "video 'v1'" in capsys.readouterr().out
    assert main(["store", "check", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vadkit: error:") and err.count("\n") == 1


def test_cli_finalize_recovers_interrupted_run(tmp_path, capsys):
    w = StoreWriter(tmp_path / "s", INFO)
    w.add("a", np.zeros((1, 2, 8), np.float32))  # no finalize: "interrupted"
    with pytest.raises(VadkitError, match="store finalize"):
        FeatureStore.open(tmp_path / "s")
    assert main(["store", "finalize", str(tmp_path / "s")]) == 0
    assert FeatureStore.open(tmp_path / "s").ids == ["a"]


def test_overwrite_with_a_new_recipe_replaces_the_whole_store(tmp_path):
    make_store(tmp_path / "s")
    other = StoreInfo(backbone="other", weights_sha256="x", dim=4, crops=1)
    w = StoreWriter(tmp_path / "s", other, overwrite=True)
    w.add("new", np.zeros((2, 1, 4), np.float32))
    store = w.finalize()
    assert store.ids == ["new"] and store.info.backbone == "other"
    assert check_store(store.path) == []  # no video of the old recipe is left behind


def test_store_path_that_is_a_file_is_an_error(tmp_path):
    (tmp_path / "f").write_text("x")
    with pytest.raises(VadkitError, match="is not a directory"):
        StoreWriter(tmp_path / "f", INFO)


def test_finalize_keeps_previous_order_for_unnamed_videos(tmp_path):
    make_store(tmp_path / "s", order=["v2", "v0", "v1"])
    w = StoreWriter(tmp_path / "s", INFO)
    w.add("a_new", np.zeros((1, 2, 8), np.float32))
    assert w.finalize(order=["a_new"]).ids == ["a_new", "v2", "v0", "v1"]


# -- defects: empty files, unwritable stores, older manifests ----------------------------------


def test_empty_npy_is_a_problem_not_an_abort(tmp_path, capsys):
    store = make_store(tmp_path / "s")
    store.file("v1").write_bytes(b"")  # e.g. a disk that filled up under another tool
    assert main(["store", "check", str(tmp_path / "s")]) == 1
    out = capsys.readouterr().out
    assert "video 'v1'" in out and "empty file" in out
    with pytest.raises(VadkitError, match="empty file"):
        store.load("v1")


def test_finalize_leaves_out_empty_and_truncated_videos(tmp_path, capsys):
    w = StoreWriter(tmp_path / "s", INFO)
    for vid in ("a", "b", "c"):
        w.add(vid, np.zeros((3, 2, 8), np.float32))
    (tmp_path / "s" / "features" / "b.npy").write_bytes(b"")
    c = tmp_path / "s" / "features" / "c.npy"
    c.write_bytes(c.read_bytes()[:-5])  # truncated
    assert not w.has("b") and not w.has("c") and w.has("a")
    assert main(["store", "finalize", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "manifest rebuilt with 1 videos" in out
    assert "left out video 'b'" in out and "empty file" in out
    assert "left out video 'c'" in out and "truncated" in out
    assert FeatureStore.open(tmp_path / "s").ids == ["a"]


def test_finalize_of_a_non_store_is_one_line(tmp_path, capsys):
    (tmp_path / "d").mkdir()
    assert main(["store", "finalize", str(tmp_path / "d")]) == 2
    assert "has no store.json" in capsys.readouterr().err


def test_unwritable_store_is_one_line_before_work(tmp_path, monkeypatch):
    from vadkit.io import store_writer

    make_store(tmp_path / "s")

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    # running as root, chmod cannot make a folder read-only: refuse the probe write instead
    monkeypatch.setattr(store_writer.tempfile, "mkstemp", refuse)
    with pytest.raises(VadkitError, match=r"cannot write store .*s: Permission denied; choose"):
        store_writer.ensure_writable_store(tmp_path / "s")
    with pytest.raises(VadkitError, match="Permission denied"):
        store_writer.finalize_store(tmp_path / "s")


def test_a_version_1_manifest_is_upgraded_not_refused(tmp_path):
    # written by hand as vadkit 0.1 wrote it: dataset only in store.extra
    (tmp_path / "s" / "features").mkdir(parents=True)
    np.save(tmp_path / "s" / "features" / "01_001.npy", np.ones((4, 1, 2), np.float32))
    manifest = {
        "schema_version": 1,
        "store": {
            "backbone": "i3d_r50", "weights_sha256": "unknown", "dim": 2, "crops": 1,
            "snippet_length": 16, "stride": 16, "padding": "unknown", "frame_step": 1,
            "n_segments": None, "crop_mode": None, "source": "import:rtfm",
            "vadkit_version": "0.1.0", "extra": {"dataset": "shanghaitech", "inputs": ["a.list"]},
        },
        "videos": [
            {"id": "01_001", "file": "features/01_001.npy", "T": 4, "source": "x", "label": 0,
             "class": "Normal", "split": "test", "n_frames": 64, "fps": None},
        ],
    }  # fmt: skip
    text = json.dumps(manifest)
    (tmp_path / "s" / "manifest.json").write_text(text)
    store = FeatureStore.open(tmp_path / "s")
    assert store.info.dataset == "shanghaitech" and store.info.extra == {"inputs": ["a.list"]}
    assert store.entry("01_001").cls == "Normal" and store.load("01_001").shape == (4, 1, 2)
    assert (tmp_path / "s" / "manifest.json").read_text() == text  # read, not rewritten
    assert check_store(tmp_path / "s") == []
    assert "dataset shanghaitech" in summarize(store)
    assert SCHEMA_VERSION == 2


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_store_is_one_line_before_work(tmp_path, capsys):
    make_store(tmp_path / "s")
    for d in (tmp_path / "s" / "features", tmp_path / "s"):
        d.chmod(0o555)
    try:
        assert main(["store", "finalize", str(tmp_path / "s")]) == 2
        assert "cannot write store" in capsys.readouterr().err
    finally:
        for d in (tmp_path / "s", tmp_path / "s" / "features"):
            d.chmod(0o755)


def test_the_constructor_points_to_open(tmp_path):
    make_store(tmp_path / "s")
    # the constructor takes a parsed manifest; a path alone is the one mistake users make
    with pytest.raises(VadkitError, match=r"use FeatureStore\.open\(") as exc:
        FeatureStore(tmp_path / "s")
    assert "\n" not in str(exc.value)
    assert FeatureStore.open(tmp_path / "s").ids == ["v0", "v1", "v2"]
