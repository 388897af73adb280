"""The ROC curves behind Sultani et al.'s UCF-Crime table integrate to the stored AUCs."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from vadkit.evaluate.metrics import frame_auc, roc_auc_from_curve

pytestmark = pytest.mark.real_data

# file -> the AUC in percent, rounded to 2 decimals (binary, Lu, Hasan, Sultani w/ constraints)
PAPER_ROC = {
    "1_Binary_Abnormal_Normal.mat": 49.99,
    "2_Cei_lui.mat": 65.51,
    "3_CV16_TemporalRegularity.mat": 50.66,
    "6_C3D_Final_L1L2.mat": 75.41,
}


def test_all_paper_curves_present(shared_data):
    found = sorted(p.name for p in (shared_data / "ucf_crime" / "sultani_paper_roc").glob("*.mat"))
    assert found == sorted(PAPER_ROC)


@pytest.mark.parametrize("name", sorted(PAPER_ROC))
def test_trapezoid_of_paper_curve_equals_stored_auc(shared_data, name):
    mat = scipy.io.loadmat(shared_data / "ucf_crime" / "sultani_paper_roc" / name)
    x, y, stored = mat["X"], mat["Y"], float(mat["AUC"].item())
    assert x.ndim == 2 and x.shape[1] == 1  # MATLAB column vectors, passed as they are
    if name.startswith("1_"):
        assert y.dtype == np.uint8  # the one curve whose TPR must be cast before integrating
    got = roc_auc_from_curve(x, y)
    assert isinstance(got, float)
    assert got == pytest.approx(stored, abs=1e-3)
    assert got == pytest.approx(stored, abs=1e-12)  # in fact it matches to rounding error
    assert round(100 * got, 2) == PAPER_ROC[name]


# Two curves are exact ROC curves of frame scores: every FPR is a multiple of 1/N and every TPR
# of 1/P for these counts of normal (N) and anomalous (P) frames.
EXACT_CURVES = {"2_Cei_lui.mat": (1_028_641, 83_167), "6_C3D_Final_L1L2.mat": (1_029_150, 83_174)}


@pytest.mark.parametrize("name", sorted(EXACT_CURVES))
def test_frame_auc_of_frames_rebuilt_from_paper_curve(shared_data, name):
    """Frames rebuilt from a published ROC curve have the published AUC under frame_auc."""
    mat = scipy.io.loadmat(shared_data / "ucf_crime" / "sultani_paper_roc" / name)
    fpr, tpr = mat["X"].ravel().astype(np.float64), mat["Y"].ravel().astype(np.float64)
    n_neg, n_pos = EXACT_CURVES[name]
    neg, pos = np.rint(fpr * n_neg).astype(np.int64), np.rint(tpr * n_pos).astype(np.int64)
    assert np.abs(fpr * n_neg - neg).max() < 1e-6 and np.abs(tpr * n_pos - pos).max() < 1e-6
    assert (neg[0], pos[0], neg[-1], pos[-1]) == (0, 0, n_neg, n_pos)
    # curve point k is reached by lowering the threshold to score -k: the frames that cross
    # it (np.diff of the counts) get that score
    d_neg, d_pos = np.diff(neg), np.diff(pos)
    assert (d_neg >= 0).all() and (d_pos >= 0).all()
    level = -np.arange(1, len(fpr), dtype=np.float64)
    scores = np.concatenate([np.repeat(level, d_neg), np.repeat(level, d_pos)])
    labels = np.concatenate([np.zeros(n_neg, np.int8), np.ones(n_pos, np.int8)])
    assert frame_auc(labels, scores) == pytest.approx(float(mat["AUC"].item()), abs=1e-9)
