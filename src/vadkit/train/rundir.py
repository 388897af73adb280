"""The run directory: everything a training run leaves, and the readers of it.

::

    RUN_DIR/
      config.yaml     the resolved run config (method, dataset, model, train, data, run)
      checkpoint.pt   {"format", "method", "model" (config), "state_dict", "store", ...}
      scores.npz      test video id -> (T,) float32 snippet scores
      metrics.json    selection, best step, validation and test metrics
      log.jsonl       one JSON object per logged step / validation
      classes.json    full supervision on a store with classes: each test video's true class,
                      predicted class and window classes (class accuracy, confusion matrix)
      threshold.json  calibrated operating thresholds on the validation videos (Youden's J and
                      a false-alarm rate; ``default`` names the one ``predict`` uses), see
                      :mod:`vadkit.train.calibrate`; runs made before it have none

A run is written into ``RUN_DIR.partial/`` and renamed to ``RUN_DIR`` when complete, so
``RUN_DIR`` either holds a whole run or does not exist; an existing ``RUN_DIR`` is
replaced only with ``overwrite=True``. Figures, reports and ``predict`` read only these files.
"""

from __future__ import annotations

import io
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from vadkit.errors import VadkitError
from vadkit.io.atomic import atomic_write, atomic_write_json, atomic_write_text

__all__ = [
    "CHECKPOINT_FORMAT",
    "FILES",
    "RunWriter",
    "check_store_matches",
    "checkpoint_payload",
    "echo_run_result",
    "evaluate_run",
    "format_run_results",
    "load_checkpoint",
    "read_config",
    "read_metrics",
    "read_scores",
    "store_meta",
]

FILES = ("config.yaml", "checkpoint.pt", "scores.npz", "metrics.json", "log.jsonl")
CHECKPOINT_FORMAT = "vadkit-checkpoint/1"
#: store fields a checkpoint records; backbone, dim and crops must match to load it
STORE_FIELDS = ("backbone", "weights_sha256", "dim", "crops", "snippet_length", "stride")


def store_meta(info: Any) -> dict[str, Any]:
    """The store metadata a checkpoint keeps (from a ``StoreInfo``)."""
    return {k: getattr(info, k, None) for k in STORE_FIELDS}


def checkpoint_payload(
    method: str,
    model: Any,
    model_config: Any,
    train_info: Any,
    resolved: Mapping[str, Any],
    step: int,
    selection: str,
) -> dict[str, Any]:
    """What ``checkpoint.pt`` holds: the weights, the method config, the training store's
    metadata (checked when the checkpoint scores another store) and how the step was chosen."""
    from vadkit import __version__
    from vadkit.train.config import to_plain

    return {
        "format": CHECKPOINT_FORMAT, "method": method, "model": to_plain(model_config),
        "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()},
        "store": store_meta(train_info), "train": resolved["train"], "step": step,
        # everything predict needs to re-extract features of new video alike (StoreInfo)
        "store_info": train_info.to_dict() if hasattr(train_info, "to_dict") else None,
        "selection": selection,
        "fingerprints": resolved["data"]["fingerprints"], "vadkit_version": __version__,
    }  # fmt: skip


def echo_run_result(echo: Any, metrics: Mapping[str, Any], oracle: bool, path: str | Path) -> None:
    """The run's last console lines: the test AUC it could compute, then where it is."""
    frame = (metrics.get("test") or {}).get("frame_auc")
    tag = " [ORACLE selection]" if oracle else ""
    if frame is not None:
        echo(f"test frame AUC {frame:.4f}{tag}")
    elif metrics.get("test_video_auc") is not None:
        auc = metrics["test_video_auc"]
        echo(f"test video AUC {auc:.4f}{tag} (no --annotations: no frame AUC)")
    else:  # e.g. a benchmark that evaluates the scores itself
        echo("test videos scored (no --annotations and no video labels: no AUC here)")
    echo(f"wrote {path}")


def check_store_matches(meta: Mapping[str, Any], info: Any, where: str, store: Any = "") -> None:
    """One-line error when a store's backbone/dim/crops differ from what ``where`` was trained on."""
    diff = [k for k in ("backbone", "dim", "crops") if meta.get(k) != getattr(info, k, None)]
    if diff:
        have = ", ".join(f"{k}={getattr(info, k, None)}" for k in diff)
        want = ", ".join(f"{k}={meta.get(k)}" for k in diff)
        raise VadkitError(
            f"{where} was trained on {want} but store {store} has {have}; "
            "use a store extracted with the same backbone"
        )


class RunWriter:
    """Writes one run into ``out.partial/`` and publishes it as ``out`` on :meth:`commit`."""

    def __init__(self, out: str | Path, overwrite: bool = False) -> None:
        self.out = Path(out)
        if self.out.exists() and not overwrite:
            raise VadkitError(
                f"run directory {self.out} already exists; choose another -o or pass --overwrite"
            )
        if self.out.exists() and not self.out.is_dir():
            raise VadkitError(f"-o {self.out} is a file, not a run directory")
        self.overwrite = overwrite
        self.path = self.out.with_name(self.out.name + ".partial")
        try:
            self.out.parent.mkdir(parents=True, exist_ok=True)
            if self.path.exists():
                shutil.rmtree(self.path)
            self.path.mkdir()
        except OSError as exc:
            raise VadkitError(f"cannot create run directory {self.out}: {exc.strerror}") from None
        if not os.access(self.path, os.W_OK):
            raise VadkitError(f"run directory {self.out} is not writable")
        self._log = (self.path / "log.jsonl").open("a", encoding="utf-8")

    def log(self, record: Mapping[str, Any]) -> None:
        """Append one JSON line to ``log.jsonl`` (flushed, so it can be followed live)."""
        self._log.write(json.dumps(dict(record), allow_nan=False) + "\n")
        self._log.flush()

    def write_config(self, config: Mapping[str, Any]) -> None:
        text = yaml.safe_dump(dict(config), sort_keys=False, default_flow_style=False)
        atomic_write_text(self.path / "config.yaml", text)

    def write_scores(self, scores: Mapping[str, np.ndarray]) -> None:
        arrays = {k: np.asarray(v, dtype=np.float32) for k, v in scores.items()}
        atomic_write(self.path / "scores.npz", lambda fh: np.savez(fh, **arrays))

    def write_metrics(self, metrics: Mapping[str, Any]) -> None:
        atomic_write_json(self.path / "metrics.json", dict(metrics))

    def write_json(self, name: str, content: Mapping[str, Any]) -> None:
        """An extra JSON file of the run (e.g. ``classes.json``)."""
        atomic_write_json(self.path / name, dict(content))

    def write_checkpoint(self, checkpoint: Mapping[str, Any]) -> None:
        import torch

        buf = io.BytesIO()
        torch.save(dict(checkpoint), buf)
        atomic_write(self.path / "checkpoint.pt", lambda fh: fh.write(buf.getvalue()))

    def commit(self) -> Path:
        """Rename the finished run to its final name (replacing an old one if allowed)."""
        self._log.close()
        old = None
        if self.out.exists():
            if not self.overwrite:
                raise VadkitError(f"run directory {self.out} appeared while training; kept it")
            old = self.out.with_name(self.out.name + ".old")
            if old.exists():
                shutil.rmtree(old)
            os.replace(self.out, old)
        os.replace(self.path, self.out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        return self.out

    def abort(self) -> None:
        """Close the log; the ``.partial`` directory stays for inspection."""
        if not self._log.closed:
            self._log.close()


def _run_file(run_dir: str | Path, name: str) -> Path:
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise VadkitError(f"run directory not found: {run_dir}")
    path = run_dir / name
    if not path.is_file():
        raise VadkitError(f"{run_dir} is not a complete run directory: {name} is missing")
    return path


def read_config(run_dir: str | Path) -> dict[str, Any]:
    """The resolved config of a run (``config.yaml``)."""
    path = _run_file(run_dir, "config.yaml")
    try:
        cfg = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise VadkitError(f"cannot read {path}: {str(exc).splitlines()[0]}") from None
    if not isinstance(cfg, dict):
        raise VadkitError(f"{path}: not a run config")
    return cfg


def read_metrics(run_dir: str | Path) -> dict[str, Any]:
    """``metrics.json`` of a run."""
    return json.loads(_run_file(run_dir, "metrics.json").read_text(encoding="utf-8"))


def read_scores(run_dir: str | Path) -> dict[str, np.ndarray]:
    """``scores.npz`` of a run: test video id -> (T,) float32."""
    with np.load(_run_file(run_dir, "scores.npz"), allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def load_checkpoint(path: str | Path, store_info: Any = None, store: Any = "") -> dict[str, Any]:
    """Read ``checkpoint.pt`` (a file or a run directory); check it fits ``store_info``.

    Returns the checkpoint dict: ``method`` (name), ``model`` (config dict), ``state_dict``,
    ``store`` (metadata of the training store), ``train``, ``step``, ``selection``.
    Build the model with ``get_method(ckpt["method"])`` (the CLI does; ``train`` does not
    import ``methods``).
    """
    import torch

    path = Path(path)
    if path.is_dir():
        path = _run_file(path, "checkpoint.pt")
    if not path.is_file():
        raise VadkitError(f"checkpoint not found: {path}")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for a bad file
        raise VadkitError(f"cannot read checkpoint {path}: {str(exc).splitlines()[0]}") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise VadkitError(f"{path} is not a vadkit checkpoint ({CHECKPOINT_FORMAT})")
    if store_info is not None:
        check_store_matches(ckpt["store"], store_info, f"checkpoint {path}", store)
    return ckpt


def evaluate_run(
    run_dir: str | Path,
    *,
    annotations: str | None = None,
    dataset: str | None = None,
    test_store: str | None = None,
    convention: str | None = None,
    bootstrap: int = 0,
    threshold: float = 0.5,
    **data_overrides: Any,
) -> dict[str, Any]:
    """Frame metrics of a run's ``scores.npz`` against the ground truth its config names.

    Any argument given replaces the run's recorded value (e.g. annotations moved).
    The result carries the run's ``selection``; oracle runs say so.
    """
    from vadkit.train.config import DataConfig, dataclass_from_dict
    from vadkit.train.data import open_store
    from vadkit.train.scoring import frame_metrics, load_ground_truth

    cfg = read_config(run_dir)
    data = dict(cfg.get("data") or {})
    given = {"annotations": annotations, "test": test_store, "convention": convention}
    data.update({k: v for k, v in {**given, **data_overrides}.items() if v is not None})
    dc = dataclass_from_dict(DataConfig, data, f"{run_dir}/config.yaml data")
    dataset = dataset or cfg.get("dataset")
    if not dc.annotations:
        raise VadkitError(f"run {run_dir} records no annotations; pass --annotations and --dataset")
    if not dc.test:
        raise VadkitError(f"run {run_dir} records no test store; pass --store")
    gt = load_ground_truth(dc, dataset)
    store = open_store(dc.test, "test")
    selection = (cfg.get("train") or {}).get("selection", "validation")
    out: dict[str, Any] = {"run": str(run_dir), "method": cfg.get("method"), "dataset": dataset}
    out["selection"] = selection
    if selection == "oracle":
        out["oracle"] = "checkpoint selected on the test set (oracle); numbers are optimistic"
    out["convention"] = dc.convention
    scores = read_scores(run_dir)
    conv = dc.convention
    out.update(
        frame_metrics(scores, gt, store, convention=conv, bootstrap=bootstrap, threshold=threshold)
    )
    classes = Path(run_dir) / "classes.json"
    if classes.is_file():  # full supervision on a store with classes
        from vadkit.train.full import class_metrics

        doc = json.loads(classes.read_text(encoding="utf-8"))
        true = {v: int(p["true"]) for v, p in doc["videos"].items()}
        out.update(class_metrics(doc["videos"], true, int(doc["n_classes"])))
        out["class_index"] = doc.get("class_index") or {}
    return out


def format_run_results(results: Mapping[str, Any]) -> str:
    """:func:`evaluate_run` results as the ``vadkit evaluate`` table, headed by the run and
    its selection (oracle runs say ORACLE on the first line)."""
    from vadkit.evaluate.run import format_table

    sel = results.get("selection", "validation")
    tag = "ORACLE selection: checkpoint chosen on the test set" if sel == "oracle" else sel
    head = f"run {results.get('run')} ({results.get('method')}, selection: {tag})"
    text = head + "\n" + format_table(results)
    if results.get("class_accuracy") is not None:
        text += (
            f"\nclass_accuracy          {100 * results['class_accuracy']:8.2f}"
            f"\nwindow_class_accuracy   {100 * results['window_class_accuracy']:8.2f}"
            f"\nconfusion matrix ({results['n_class_videos']} videos; rows true, columns "
            "predicted):\n"
            + confusion_table(results["confusion_matrix"], results.get("class_index"))
        )
    return text


def confusion_table(matrix: Any, class_index: Mapping[str, int] | None = None) -> str:
    """A confusion matrix as text, rows and columns headed by class names (index if unnamed).

    >>> print(confusion_table([[2, 0], [1, 3]], {"Normal": 0, "Fighting": 1}))
        true \\ predicted  Normal  Fighting
        Normal                 2         0
        Fighting               1         3
    """
    rows = [list(map(int, r)) for r in matrix]
    names = {int(i): str(n) for n, i in (class_index or {}).items()}
    labels = [names.get(i, str(i)) for i in range(len(rows))]
    first = max([len("true \\ predicted")] + [len(x) for x in labels])
    widths = [max(len(x), 3) for x in labels]
    head = (
        "true \\ predicted".ljust(first)
        + "  "
        + "  ".join(x.rjust(w) for x, w in zip(labels, widths, strict=True))
    )
    body = [
        lab.ljust(first) + "  " + "  ".join(f"{n:{w}d}" for n, w in zip(r, widths, strict=True))
        for lab, r in zip(labels, rows, strict=True)
    ]
    return "\n".join(["    " + head] + ["    " + b for b in body])
