"""Real data: the 10 official C3D 32-segment sample videos of UCF-Crime scored by ``mil`` (and
``tacnet``), expanded to every frame with Sultani's rule and evaluated against the official
temporal annotation. The models are randomly initialised: this checks the path (shapes, frame
counts, metric), not a number."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vadkit.datasets.annotations.ucf_crime import read_ucf_crime
from vadkit.datasets.importers.common import read_frame_counts
from vadkit.datasets.importers.sultani import import_sultani_c3d
from vadkit.evaluate.expand import expand_segments
from vadkit.evaluate.metrics import frame_auc_micro
from vadkit.io.store import FeatureStore
from vadkit.methods.mil import MILModel
from vadkit.methods.tacnet import TACnetModel

pytestmark = pytest.mark.real_data

SAMPLES = 10  # c3d_32seg_samples/: 8 anomalous + 2 normal test videos (SOURCES.md)


@pytest.fixture(scope="module")
def c3d_store(shared_data, tmp_path_factory) -> FeatureStore:
    ucf = shared_data / "ucf_crime"
    samples = ucf / "c3d_32seg_samples"
    return import_sultani_c3d(
        samples,
        tmp_path_factory.mktemp("sultani") / "store",
        annotations=ucf / "Temporal_Anomaly_Annotation.txt",
        frame_counts=read_frame_counts(samples / "videos.csv"),
    )


@pytest.mark.parametrize("make", [MILModel, TACnetModel], ids=["mil", "tacnet"])
def test_scores_real_c3d_videos_frame_by_frame(make, c3d_store, shared_data):
    ucf = shared_data / "ucf_crime"
    gt = read_ucf_crime(ucf / "Temporal_Anomaly_Annotation.txt", ucf / "Test_Annotation.txt")
    torch.manual_seed(0)
    model = make()  # published defaults: 4096-d C3D input, 32 segments
    assert len(c3d_store) == SAMPLES
    frame_scores = {}
    for vid in c3d_store.ids:
        feats = np.asarray(c3d_store.load(vid))  # (32, 1, 4096)
        assert feats.shape == (32, 1, 4096)
        seg = model.score(feats[None].transpose(0, 2, 1, 3))
        assert seg.shape == (1, 32)
        assert np.isfinite(seg).all() and (seg >= 0).all() and (seg <= 1).all()
        n_frames = c3d_store.entry(vid).n_frames
        frames = expand_segments(seg[0], n_frames=n_frames, rule="sultani")
        assert len(frames) == len(gt.labels[vid])  # exactly the annotation's frame count
        frame_scores[vid] = frames
    labels = {vid: gt.labels[vid] for vid in frame_scores}
    assert sum(int(v.any()) for v in labels.values()) == 8
    auc = frame_auc_micro(labels, frame_scores)
    assert 0.0 <= auc <= 1.0
