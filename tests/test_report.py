"""``vadkit.report`` without a browser: the per-video error by hand, oracle labels, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vadkit.errors import VadkitError
from vadkit.report import ReportInput, build_report, video_error
from vadkit.viz import VideoFrames


def _frames() -> dict[str, VideoFrames]:
    return {
        # normal frames 0.1, 0.5; anomalous 0.4, 0.9
        "a": VideoFrames(np.array([0.1, 0.5, 0.4, 0.9]), np.array([0, 0, 1, 1])),
        "b": VideoFrames(np.array([0.2, 0.3]), np.array([0, 0])),  # normal only
        "c": VideoFrames(np.array([0.7]), None),  # no ground truth
    }


def test_video_error_by_hand():
    # pooled: normal {0.1, 0.5, 0.2, 0.3}, anomalous {0.4, 0.9}
    # a: anomalous 0.4 is below normal 0.5 (1 wrong of 4), 0.9 above all (0 of 4);
    #    normal 0.5 above anomalous 0.4 (1 of 2), 0.1 below both (0 of 2): 2 wrong / 12 pairs
    # b: normal 0.2 and 0.3 below both anomalous frames: 0 of 4
    err = video_error(_frames())
    assert err == {"a": pytest.approx(2 / 12), "b": 0.0}


def test_ties_count_half():
    f = {"t": VideoFrames(np.array([0.5, 0.5]), np.array([0, 1]))}
    assert video_error(f) == {"t": 0.5}


def test_oracle_is_said_beside_the_number_and_worst_video_comes_first():
    inp = ReportInput("r", Path("r"), "run", ["method", "frame_auc"],
                      [{"method": "m", "frame_auc": 0.91, "selection": "oracle"}],
                      frames={"m": _frames()})  # fmt: skip
    html = build_report([inp])
    assert '<td class="oracle">oracle</td>' in html and "<td>0.9100</td>" in html
    order = [html.index(f"score curve of video {v}") for v in ("a", "b", "c")]
    assert order == sorted(order)  # error 1/6, then 0, then the unlabelled video
    assert "<script" not in html and "http" not in html.split("<body>")[1]


def test_no_input_is_an_error(tmp_path):
    from vadkit.report import load_input

    with pytest.raises(VadkitError, match="report: no input"):
        build_report([])
    with pytest.raises(VadkitError, match="not found"):
        load_input(tmp_path / "none")
