"""The ROC curves behind Sultani et al.'s UCF-Crime table integrate to the stored AUCs."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from vadkit.evaluate.metrics import roc_auc_from_curve

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
