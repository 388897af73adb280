"""LAD2000 (Wan et al., IET Image Processing 2021): the official release layout -> FeatureStore.

Layout (``<dataset_path>/LAD2000`` of ``wanboyang/anomaly_detection_LAD2000``)::

    LAD2000/                               the root to pass
      train_split.txt                      one video name per line
      test_split.txt
      GT/
        frame_label_IET.pickle             {video: (1, n_frames) 0/1 array}
        video_label_IET.pickle             {video: class index}, see LAD2000_CLASSES
        GT_mat/<Class>/.../gt_<name>.mat   optional, used when the pickles are absent:
                                           key "gt" = (1, n_frames); file gt_X labels video v_X
      features_video/i3d/
        rgb/<video>/feature.npy            (T, 1024)
        flow/<video>/feature.npy           (T, 1024)
        combine/<video>/feature.npy        (T, 2048)

A video is abnormal when any frame label is 1 (the reference's ``frame_label.sum()``). Every
video, normal ones included, belongs to one of the 14 classes (the scene folder it was filed
under); the store records that class name in ``class`` and ``store.info.extra["class_index"]``
maps names to the indices the class head uses. In the :class:`GroundTruth` the classes follow
the vadkit convention (``"Normal"`` for normal videos). Pickles are read with a restricted
unpickler that accepts numpy arrays, dicts, lists, numbers and strings only.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path

import numpy as np

from vadkit.datasets.annotations.groundtruth import NORMAL, GroundTruth
from vadkit.datasets.importers.common import Item, PathArg, check_unique, npy_shape, write_store
from vadkit.datasets.text import read_lines
from vadkit.errors import VadkitError
from vadkit.io.store import FeatureStore, StoreInfo

__all__ = [
    "LAD2000_CLASSES",
    "MODALITIES",
    "import_lad2000",
    "load_label_pickle",
    "read_lad2000",
    "read_lad2000_labels",
]

#: class name -> index, README "Class_index" and ``utils/gt_creater.py`` of the reference
#: (index = position in the ASCII-sorted class names)
LAD2000_CLASSES: dict[str, int] = {
    "Crash": 0,
    "Crowd": 1,
    "Destroy": 2,
    "Drop": 3,
    "FallIntoWater": 4,
    "Falling": 5,
    "Fighting": 6,
    "Fire": 7,
    "Hurt": 8,
    "Loitering": 9,
    "Panic": 10,
    "Thiefing": 11,
    "Trampled": 12,
    "Violence": 13,
}
MODALITIES = {"rgb": 1024, "flow": 1024, "combine": 2048}
FRAME_PICKLE = "GT/frame_label_IET.pickle"
VIDEO_PICKLE = "GT/video_label_IET.pickle"

_ALLOWED = {
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy._core.numeric", "_frombuffer"),
    ("_codecs", "encode"),  # bytes in protocol-2 pickles
}


class _Unpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> object:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not allowed")


def load_label_pickle(path: PathArg) -> dict:
    """A label pickle as a dict, refusing anything but numpy arrays, dicts, lists, numbers, str."""
    path = Path(path)
    try:
        data = _Unpickler(io.BytesIO(path.read_bytes())).load()
    except FileNotFoundError:
        raise VadkitError(f"label file not found: {path}") from None
    except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, ValueError) as exc:
        raise VadkitError(f"cannot read {path}: {exc} (expected a dict of labels)") from None
    if not isinstance(data, dict):
        raise VadkitError(f"{path}: expected a dict video -> label, got {type(data).__name__}")
    return data


def _frame_array(value: object, vid: str, where: str) -> np.ndarray:
    arr = np.asarray(value)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1 or arr.size == 0 or not np.isin(arr, (0, 1)).all():
        raise VadkitError(
            f"{where}: frame labels of video {vid!r} must be a (1, n_frames) 0/1 array, "
            f"got shape {np.asarray(value).shape}"
        )
    return arr.astype(np.uint8)


def _class_index(value: object, vid: str, where: str) -> int:
    arr = np.asarray(value).reshape(-1)
    n = len(LAD2000_CLASSES)
    if arr.size != 1 or not np.issubdtype(arr.dtype, np.number) or not 0 <= int(arr[0]) < n:
        raise VadkitError(
            f"{where}: class of video {vid!r} must be an index in [0, {n}), got {value!r}"
        )
    return int(arr[0])


def _read_mats(gt_dir: Path) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    from scipy.io import loadmat

    frames: dict[str, np.ndarray] = {}
    classes: dict[str, int] = {}
    for mat in sorted(gt_dir.rglob("*.mat")):
        try:
            data = loadmat(str(mat))
        except (OSError, ValueError) as exc:
            raise VadkitError(f"cannot read {mat}: {exc}") from None
        if "gt" not in data:
            raise VadkitError(
                f"{mat}: no key 'gt' (keys: {sorted(k for k in data if k[0] != '_')})"
            )
        stem = mat.stem
        vid = "v_" + stem[3:] if stem.startswith("gt_") else stem
        frames[vid] = _frame_array(data["gt"], vid, str(mat))
        folder = next((p.name for p in mat.parents if p.name in LAD2000_CLASSES), None)
        if folder is not None:
            classes[vid] = LAD2000_CLASSES[folder]
    return frames, classes


def read_lad2000_labels(root: PathArg) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Frame labels ``{video: (n_frames,) uint8}`` and class indices ``{video: int}`` of LAD2000.

    Frame labels come from ``GT/frame_label_IET.pickle``, else from the ``.mat`` files under
    ``GT/``; classes from ``GT/video_label_IET.pickle``, else from the ``<Class>`` folder of each
    ``.mat`` file. Videos without a class are left out of the second dict.
    """
    root = Path(root)
    fpkl, vpkl, gt_dir = root / FRAME_PICKLE, root / VIDEO_PICKLE, root / "GT"
    mats: tuple[dict[str, np.ndarray], dict[str, int]] | None = None
    if fpkl.is_file():
        frames = {
            str(k): _frame_array(v, str(k), str(fpkl)) for k, v in load_label_pickle(fpkl).items()
        }
    else:
        mats = _read_mats(gt_dir) if gt_dir.is_dir() else ({}, {})
        frames = mats[0]
        if not frames:
            raise VadkitError(
                f"LAD2000 frame labels not found: neither {fpkl} nor any .mat file under {gt_dir}"
            )
    if vpkl.is_file():
        classes = {
            str(k): _class_index(v, str(k), str(vpkl)) for k, v in load_label_pickle(vpkl).items()
        }
    else:
        classes = (mats or (_read_mats(gt_dir) if gt_dir.is_dir() else ({}, {})))[1]
    return frames, classes


def read_lad2000(root: PathArg) -> GroundTruth:
    """LAD2000 frame-level ground truth (see the module docstring for the layout).

    Classes: the class name for abnormal videos, ``"Normal"`` for videos without an anomalous
    frame (their scene class is in the store, see :func:`import_lad2000`).
    """
    frames, classes = read_lad2000_labels(root)
    names = {i: c for c, i in LAD2000_CLASSES.items()}
    video_classes = {
        vid: (names[classes[vid]] if lab.any() and vid in classes else NORMAL)
        for vid, lab in frames.items()
    }
    return GroundTruth("lad2000", labels=frames, classes=video_classes, source=str(root))


def _load_2d(path: Path, video_id: str) -> np.ndarray:
    try:
        arr = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise VadkitError(f"video {video_id!r}: cannot read {path}: {exc}") from exc
    return arr[:, None, :] if arr.ndim == 2 else arr


def import_lad2000(
    root: PathArg,
    out: PathArg,
    *,
    modality: str = "rgb",
    splits: tuple[str, ...] = ("train", "test"),
    copy: bool = False,
    overwrite: bool = False,
) -> FeatureStore:
    """Import the LAD2000 I3D features of one modality with labels, classes and splits.

    Parameters
    ----------
    root : the ``LAD2000`` folder (see the module docstring).
    out : the store folder.
    modality : ``"rgb"``, ``"flow"`` or ``"combine"``.
    splits : which of ``train_split.txt`` / ``test_split.txt`` to import.
    copy, overwrite : as in the other importers (``(T, D)`` files are always copied as
        ``(T, 1, D)``).

    Returns
    -------
    FeatureStore with one ``(T, 1, D)`` entry per listed video, in split-file order; each entry
    has ``label`` (1 abnormal), ``class`` (one of :data:`LAD2000_CLASSES`), ``split`` and
    ``n_frames`` (the number of frame labels).
    """
    root = Path(root)
    if modality not in MODALITIES:
        raise VadkitError(
            f"unknown LAD2000 modality {modality!r}; choose one of {list(MODALITIES)}"
        )
    feat_dir = root / "features_video" / "i3d" / modality
    listed: list[tuple[str, str, str]] = []
    for split in splits:
        split_file = root / f"{split}_split.txt"
        if not split_file.is_file():
            raise VadkitError(f"LAD2000 split file not found: {split_file}; pass the LAD2000 root")
        listed += [(text, split, f"{split_file}:{n}") for n, text in read_lines(split_file)]
    frames, classes = read_lad2000_labels(root)
    names = {i: c for c, i in LAD2000_CLASSES.items()}
    items = []
    for vid, split, where in listed:
        path = feat_dir / vid / "feature.npy"
        if not path.is_file():
            raise VadkitError(f"{where}: feature file of video {vid!r} not found: {path}")
        if vid not in frames:
            raise VadkitError(f"{where}: video {vid!r} has no frame labels in {root / 'GT'}")
        if vid not in classes:
            raise VadkitError(
                f"{where}: video {vid!r} has no class: not in {root / VIDEO_PICKLE} and no "
                "<Class> folder above its .mat file"
            )
        lab = frames[vid]
        items.append(
            Item(
                vid,
                where,
                load=lambda p=path, v=vid: _load_2d(p, v),
                label=int(lab.any()),
                cls=names[classes[vid]],
                split=split,
                n_frames=int(lab.size),
                source=str(path),
            )
        )
    if not items:
        raise VadkitError(f"{root}: the split files list no videos")
    check_unique(items)
    shape = npy_shape(feat_dir / items[0].video_id / "feature.npy", items[0].video_id)
    if len(shape) not in (2, 3) or (len(shape) == 3 and shape[1] != 1):
        raise VadkitError(
            f"video {items[0].video_id!r}: feature.npy has shape {shape}, expected (T, D)"
        )
    info = StoreInfo(
        backbone="i3d",
        weights_sha256="unknown",
        dim=int(shape[-1]),
        crops=1,
        snippet_length=16,
        stride=16,
        padding="unknown",
        source="import:lad2000",
        extra={"modality": modality, "class_index": dict(LAD2000_CLASSES), "inputs": list(splits)},
    )
    return write_store(out, info, items, copy=copy, overwrite=overwrite)
