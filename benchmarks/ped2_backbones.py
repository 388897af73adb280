"""UCSD Ped2: backbones compared under one fixed one-class scorer; prints a markdown table.

Each backbone extracts the training and testing frame folders (center crop, 16-frame
snippets, ``repeat_last`` padding) through :func:`vadkit.extract.engine.extract` into
``STORES/<backbone>/{train,test}`` (a second run resumes, i.e. reuses them). The scorer
has no parameter tuned on test labels: snippet features are L2-normalised, the score of a
test snippet is its mean Euclidean distance to its ``k`` nearest training snippets
(``--k``, default 1), snippet scores are expanded to every frame (``exact`` convention) and
evaluated with the frame-level ground truth of ``ped2.mat``: micro AUC (all frames
concatenated) and macro AUC (mean over the test videos).

    python benchmarks/ped2_backbones.py --data ../shared/data/ped2 --stores stores/ped2-bench
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

from vadkit.datasets.annotations.ucsd import read_ucsd_ped2
from vadkit.evaluate.expand import expand_snippets
from vadkit.evaluate.metrics import frame_auc_macro, frame_auc_micro
from vadkit.extract.engine import ExtractOptions, extract
from vadkit.io.store import FeatureStore

BACKBONES = ("i3d_kinetics400", "efficientnet_lite0")


def _extract(backbone: str, frames: Path, out: Path, batch_size: int) -> tuple[FeatureStore, float]:
    start = time.perf_counter()
    options = ExtractOptions(crop="center", batch_size=batch_size)
    result = extract(frames, out, backbone, options=options, progress=False)
    if result.failed:
        sys.exit(f"{backbone}: {len(result.failed)} videos failed: {result.failed[0][1]}")
    return result.store, time.perf_counter() - start


def _snippets(store: FeatureStore, vid: str) -> np.ndarray:
    x = np.asarray(store.load(vid), dtype=np.float64).mean(axis=1)  # (T, D), mean over crops
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


def knn_scores(train: np.ndarray, test: np.ndarray, k: int) -> np.ndarray:
    """Mean Euclidean distance of each ``test`` row to its ``k`` nearest ``train`` rows."""
    d = torch.cdist(torch.from_numpy(test), torch.from_numpy(train))
    return d.topk(k, dim=1, largest=False).values.mean(dim=1).numpy()


def evaluate(backbone: str, data: Path, stores: Path, k: int, batch_size: int) -> dict:
    train, t_train = _extract(
        backbone, data / "training" / "frames", stores / backbone / "train", batch_size
    )
    test, t_test = _extract(
        backbone, data / "testing" / "frames", stores / backbone / "test", batch_size
    )
    gt = read_ucsd_ped2(data / "ped2.mat", frames_root=data / "testing" / "frames")
    bank = np.concatenate([_snippets(train, v) for v in train.ids])
    scores, labels = {}, {}
    for vid in test.ids:
        e = test.entry(vid)
        s = knn_scores(bank, _snippets(test, vid), k)
        scores[vid] = expand_snippets(s, 16, n_frames=e.n_frames, convention="exact")
        labels[vid] = gt.labels[vid]
    return {
        "backbone": backbone,
        "dim": train.info.dim,
        "train": len(bank),
        "test": sum(test.entry(v).T for v in test.ids),
        "micro": frame_auc_micro(labels, scores),
        "macro": frame_auc_macro(labels, scores),
        "seconds": t_train + t_test,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--data", type=Path, required=True, help="Ped2 root (training/, testing/, ped2.mat)"
    )
    ap.add_argument("--stores", type=Path, default=Path("stores/ped2-bench"))
    ap.add_argument("--backbones", nargs="+", default=list(BACKBONES))
    ap.add_argument("--k", type=int, default=1, help="nearest training snippets averaged")
    ap.add_argument("--batch-size", type=int, default=8)
    args = ap.parse_args(argv)
    rows = [evaluate(b, args.data, args.stores, args.k, args.batch_size) for b in args.backbones]
    print(
        f"UCSD Ped2, center crop, 16-frame snippets, kNN (k={args.k}) on L2-normalised features\n"
    )
    print("| backbone | D | train snippets | test snippets | micro frame AUC | macro frame AUC |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| `{r['backbone']}` | {r['dim']} | {r['train']} | {r['test']} | "
            f"{r['micro']:.4f} | {r['macro']:.4f} |"
        )
    timing = ", ".join(f"{r['backbone']} {r['seconds']:.0f} s" for r in rows)
    print(f"\nextraction time of this run (near 0 when the stores were reused): {timing}")


if __name__ == "__main__":
    main()
