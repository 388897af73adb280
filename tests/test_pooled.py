"""Pooled memmap cache: values by the published rules, keyed by the store, never stale."""

from __future__ import annotations

import json
import os
import time

import numpy as np
import pytest

from vadkit.errors import VadkitError
from vadkit.io import pooled as pooled_mod
from vadkit.io.pooled import cache_fingerprint, pooled_features
from vadkit.io.store import FeatureStore, StoreInfo, StoreWriter
from vadkit.io.views import select

INFO = StoreInfo(backbone="test", weights_sha256="random-init", dim=3, crops=2)
LENGTHS = {"a": 5, "b": 7, "c": 3, "d": 9}


def process_feat(feat: np.ndarray, length: int) -> np.ndarray:
    """RTFM's ``utils.process_feat`` as published (one crop, (T, D) -> (length, D))."""
    new_feat = np.zeros((length, feat.shape[1])).astype(np.float32)
    r = np.linspace(0, len(feat), length + 1, dtype=int)
    for i in range(length):
        if r[i] != r[i + 1]:
            new_feat[i, :] = np.mean(feat[r[i] : r[i + 1], :], 0)
        else:
            new_feat[i, :] = feat[r[i], :]
    return new_feat


def make_store(path, lengths=LENGTHS):
    w = StoreWriter(path, INFO)
    rng = np.random.default_rng(1)
    for i, (vid, T) in enumerate(lengths.items()):
        label = None if vid == "d" else i % 2
        w.add(vid, rng.normal(size=(T, 2, 3)).astype(np.float32), label=label, split="train")
    return w.finalize(order=list(lengths))


def reference(store, ids, n):
    return np.stack(
        [
            np.stack([process_feat(np.asarray(store.load(v))[:, c], n) for c in range(2)], 1)
            for v in ids
        ]
    )


def test_rtfm_pooling_matches_the_published_rule(tmp_path):
    store = make_store(tmp_path / "s")
    p = pooled_features(store, n_segments=4)
    assert isinstance(p.features, np.memmap) and p.features.shape == (4, 4, 2, 3)
    assert p.features.dtype == np.float32 and p.ids == ["a", "b", "c", "d"]
    assert p.lengths.tolist() == [5, 7, 3, 9] and p.labels.tolist() == [0, 1, 0, -1]
    assert (p.n_segments, p.rule, len(p)) == (4, "rtfm", 4)
    assert p.path == tmp_path / "s" / "cache" / f"pooled-{p.fingerprint}"
    np.testing.assert_allclose(p.features, reference(store, p.ids, 4), rtol=1e-6)
    meta = json.loads((p.path / "meta.json").read_text())
    assert meta["rule"] == "rtfm" and "pool_segments" in meta["rule_detail"]


def test_a_view_is_pooled_in_its_order(tmp_path):
    store = make_store(tmp_path / "s")
    view = select(store, ids=["c", "a"])
    p = pooled_features(view, n_segments=2)
    assert p.ids == ["a", "c"]
    np.testing.assert_allclose(p.features, reference(store, ["a", "c"], 2), rtol=1e-6)


def test_sultani_and_none_rules(tmp_path):
    store = make_store(tmp_path / "s", {"x": 3})
    p = pooled_features(store, n_segments=2, rule="sultani")
    x = np.asarray(store.load("x"), np.float64)
    # MATLAB round(linspace(1, 3, 3)) = [1, 2, 3]: segment 1 is clip 1, segment 2 is clip 2
    expected = x[[0, 1]] / np.linalg.norm(x[[0, 1]], axis=-1, keepdims=True)
    np.testing.assert_allclose(p.features[0], expected, rtol=1e-6)
    np.testing.assert_array_equal(pooled_features(store, 3, rule="none").features[0], x)
    with pytest.raises(VadkitError, match="rule 'none' needs every video at 2 segments"):
        pooled_features(store, 2, rule="none")
    with pytest.raises(VadkitError, match="unknown pooling rule 'max'"):
        pooled_features(store, 2, rule="max")


def test_unchanged_store_reuses_the_cache_without_rewriting(tmp_path):
    store = make_store(tmp_path / "s")
    first = pooled_features(store, n_segments=4)
    stat = (first.path / "features.npy").stat()
    again = pooled_features(FeatureStore.open(tmp_path / "s"), n_segments=4)
    after = (again.path / "features.npy").stat()
    assert again.path == first.path
    assert (after.st_ino, after.st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)
    assert len(list((tmp_path / "s" / "cache").iterdir())) == 1
    # another recipe is another cache
    assert pooled_features(store, n_segments=2).path != first.path


def test_changed_feature_file_added_video_or_relabel_rebuild(tmp_path):
    store = make_store(tmp_path / "s")
    first = pooled_features(store, n_segments=4)
    time.sleep(0.05)  # past the file system's timestamp granularity
    np.save(store.file("b"), np.ones((7, 2, 3), np.float32))  # rewritten in place
    changed = pooled_features(FeatureStore.open(tmp_path / "s"), n_segments=4)
    assert changed.fingerprint != first.fingerprint
    np.testing.assert_array_equal(changed.features[1], np.ones((4, 2, 3), np.float32))

    w = StoreWriter(tmp_path / "s", INFO)
    w.add("e", np.zeros((2, 2, 3), np.float32), label=1)
    added = pooled_features(w.finalize(), n_segments=4)
    assert added.ids == ["a", "b", "c", "d", "e"] and added.fingerprint != changed.fingerprint

    side = tmp_path / "s" / "features" / "a.json"
    entry = json.loads(side.read_text())
    side.write_text(json.dumps({**entry, "label": 1}))  # relabel only; features untouched
    relabelled = pooled_features(w.finalize(), n_segments=4)
    assert relabelled.labels.tolist() == [1, 1, 0, -1, 1]
    assert relabelled.fingerprint != added.fingerprint


def test_a_half_written_cache_is_never_used(tmp_path, monkeypatch):
    store = make_store(tmp_path / "s")
    fp = cache_fingerprint(store, 4, "rtfm")
    # a crash mid-build: nothing under the final name, the temporary folder is removed
    calls = []
    real = pooled_mod.sampling.pool_segments

    def crash(features, n_segments):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(features, n_segments)

    monkeypatch.setattr(pooled_mod.sampling, "pool_segments", crash)
    with pytest.raises(KeyboardInterrupt):
        pooled_features(store, n_segments=4)
    monkeypatch.undo()
    assert list((tmp_path / "s" / "cache").iterdir()) == []
    # a folder under the final name left by a writer that was not atomic: truncated array
    final = tmp_path / "s" / "cache" / f"pooled-{fp}"
    final.mkdir()
    full = np.lib.format.open_memmap(final / "features.npy", "w+", np.float32, (4, 4, 2, 3))
    del full
    data = (final / "features.npy").read_bytes()
    (final / "features.npy").write_bytes(data[: len(data) // 2])
    meta = {"format": 1, "fingerprint": fp, "n_segments": 4, "rule": "rtfm"}
    meta.update(ids=list(LENGTHS), lengths=[5, 7, 3, 9], labels=[0, 1, 0, -1])
    (final / "meta.json").write_text(json.dumps(meta))
    # a complete-looking temporary folder of a killed build (all zeros) is never read
    leftover = tmp_path / "s" / "cache" / f".pooled-{fp}.x1.tmp"
    leftover.mkdir()
    np.save(leftover / "features.npy", np.zeros((4, 4, 2, 3), np.float32))
    (leftover / "meta.json").write_text(json.dumps(meta))
    p = pooled_features(store, n_segments=4)
    assert p.path == final
    np.testing.assert_allclose(p.features, reference(store, p.ids, 4), rtol=1e-6)
    assert sorted(d.name for d in (tmp_path / "s" / "cache").iterdir()) == [
        leftover.name, final.name,
    ]  # fmt: skip


def test_read_only_store_falls_back_to_the_user_cache(tmp_path, monkeypatch):
    store = make_store(tmp_path / "s")
    monkeypatch.setattr(pooled_mod, "_writable", lambda d: False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    p = pooled_features(store, n_segments=2)
    assert p.path.parent == tmp_path / "xdg" / "vadkit"
    q = pooled_features(store, n_segments=2, cache_dir=tmp_path / "mine")
    assert q.path.parent == tmp_path / "mine" and q.fingerprint == p.fingerprint
    assert not (tmp_path / "s" / "cache").exists()
    assert os.access(q.path / "features.npy", os.R_OK)
