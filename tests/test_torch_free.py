"""Reading a store's recipe and scoring with an exported model need no PyTorch.

``vadkit predict --model model.onnx --backbone-model effnet.onnx`` runs where torch is not
installed (tests/test_cli_export.py runs it end to end on Ped2 with torch blocked); here, fast:
its modules import without torch, and the exported backbone cuts snippets by the one rule of
:mod:`vadkit.extract.options`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from vadkit.deploy.exported_backbone import snippet_spec
from vadkit.errors import VadkitError
from vadkit.io.store import StoreInfo
from vadkit.sampling import SnippetSpec

SRC = Path(__file__).resolve().parents[1] / "src"


def _info(**kw) -> StoreInfo:
    base = {"backbone": "efficientnet_lite0", "weights_sha256": "x", "dim": 1280, "crops": 1,
            "crop_mode": "center", "source": "extract"}  # fmt: skip
    return StoreInfo(**{**base, **kw})


def test_exported_scoring_path_imports_no_torch():
    code = (
        "import sys\n"
        "import vadkit.extract, vadkit.extract.options, vadkit.extract.crops\n"
        "import vadkit.deploy.model, vadkit.deploy.exported, vadkit.deploy.exported_backbone\n"
        "import vadkit.deploy.predict, vadkit.cli.cmd_predict\n"
        "from vadkit.io.store import StoreInfo\n"
        "info = StoreInfo('efficientnet_lite0', 'x', 1280, 1, snippet_length=2, stride=16,\n"
        "                 padding='repeat_last', frame_step=8, crop_mode='center')\n"
        "print(vadkit.deploy.exported_backbone.snippet_spec(info))\n"
        "print(vadkit.extract.options.options_from_store(info).crop)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))\n"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"PYTHONPATH": str(SRC)}, timeout=60)  # fmt: skip
    assert res.returncode == 0, res.stderr
    *_, crop, loaded = res.stdout.strip().splitlines()
    assert crop == "center" and loaded == "[]", res.stdout


@pytest.mark.parametrize(
    ("kw", "want"),
    [
        # predict's store: 2 frames, one every 8, a snippet every 16 frames
        ({"snippet_length": 2, "stride": 16, "padding": "repeat_last", "frame_step": 8},
         (SnippetSpec(2, 16, 8, "repeat_last"), None)),
        ({"snippet_length": 16, "stride": 8, "padding": "loop"}, (SnippetSpec(16, 8, 1, "loop"), None)),
        # Sultani segments: every whole 16-frame clip, pooled into 32 segments afterwards
        ({"snippet_length": 16, "stride": 16, "padding": "segments", "n_segments": 32,
          "extra": {"segment_rule": "sultani"}}, (SnippetSpec(16, 16, 1, "drop"), 32)),
    ],
)  # fmt: skip
def test_snippet_spec_of_a_store(kw, want):
    assert snippet_spec(_info(**kw)) == want


def test_snippet_spec_refuses_what_it_cannot_repeat():
    tacnet = _info(snippet_length=16, padding="segments", n_segments=32,
                   extra={"segment_rule": "tacnet"})  # fmt: skip
    with pytest.raises(VadkitError, match="TACnet segments"):
        snippet_spec(tacnet)
    with pytest.raises(VadkitError, match="was not made by `vadkit extract`"):
        snippet_spec(_info(source="import", padding="repeat_last"))
