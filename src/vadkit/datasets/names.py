"""Names: canonical dataset ids, video ids from file names, XD-Violence label codes.

One parser per naming rule, imported by the annotation readers and the importers alike.

Dataset ids: ``ucf-crime``, ``shanghaitech``, ``xd-violence``, ``ped2``, ``lad2000``
(:data:`DATASETS`); :func:`canonical_dataset` also takes the spellings users type
(``ucf_crime``, ``UCF-Crime``, ``ucsd_ped2``, ``xd_violence``, ...).

XD-Violence names end in ``_label_<codes>``: ``A`` is normal, ``B1`` fighting, ``B2``
shooting, ``B4`` riot, ``B5`` abuse, ``B6`` car accident, ``G`` explosion; up to three
codes joined by ``-``, ``0`` filling unused places (``label_B2-G-0``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vadkit.errors import VadkitError
from vadkit.io.names import video_id_from_path

__all__ = [
    "DATASETS",
    "NORMAL",
    "XD_LABEL",
    "XDName",
    "canonical_dataset",
    "parse_xd_name",
    "video_id_from_path",
    "xd_classes",
    "xd_label",
    "xd_video_id",
]

DATASETS: tuple[str, ...] = ("ucf-crime", "shanghaitech", "xd-violence", "ped2", "lad2000")
NORMAL = "Normal"

# spellings (lower case, "_" and " " read as "-") -> canonical id
_ALIASES = {
    "ucf-crime": "ucf-crime",
    "ucfcrime": "ucf-crime",
    "ucf": "ucf-crime",
    "shanghaitech": "shanghaitech",
    "shanghai-tech": "shanghaitech",
    "shanghai": "shanghaitech",
    "sh": "shanghaitech",
    "sht": "shanghaitech",
    "xd-violence": "xd-violence",
    "xdviolence": "xd-violence",
    "xd": "xd-violence",
    "ped2": "ped2",
    "ucsd-ped2": "ped2",
    "ucsdped2": "ped2",
    "lad2000": "lad2000",
    "lad": "lad2000",
}


def canonical_dataset(name: str) -> str:
    """The canonical id of a dataset name, whatever its spelling.

    >>> canonical_dataset("UCF_Crime"), canonical_dataset("ucsd_ped2"), canonical_dataset("XD-Violence")
    ('ucf-crime', 'ped2', 'xd-violence')
    """
    key = re.sub(r"[\s_]+", "-", str(name).strip().lower())
    if key not in _ALIASES:
        raise VadkitError(f"unknown dataset {name!r}; valid: {', '.join(DATASETS)}")
    return _ALIASES[key]


# ------------------------------------------------------------------ XD-Violence names
XD_LABEL = re.compile(r"_label_([A-Za-z0-9]+(?:-[A-Za-z0-9]+)*)$")
_XD_SUFFIX = re.compile(r"__(\d+|vggish)\.npy$", re.IGNORECASE)
_XD_CODE = re.compile(r"[A-Z][A-Z0-9]*|0")


@dataclass(frozen=True)
class XDName:
    """An XD-Violence video name, parsed.

    Attributes
    ----------
    video_id : the name without folders, crop suffix (``__3.npy``) or extension (``.mp4``)
    code : the label part, upper case (``"B2-G-0"``, ``"A"``)
    classes : violence classes in order, ``0`` and ``A`` left out (``("B2", "G")``; ``()``
        for a normal video)
    """

    video_id: str
    code: str
    classes: tuple[str, ...]

    @property
    def label(self) -> int:
        """1 for a violent video, 0 for a normal one (``label_A``)."""
        return int(bool(self.classes))

    @property
    def primary(self) -> str:
        """The first class (``"G"`` for ``label_G-B2-B6``), ``"Normal"`` for ``label_A``."""
        return self.classes[0] if self.classes else NORMAL


def xd_video_id(name: str) -> str:
    """Video id from an XD-Violence list path or annotation name (no label check).

    >>> xd_video_id("/media/x/RGBTest/Bad.Boys.1995__#01-11-55_01-12-40_label_G-B2-B6__3.npy")
    'Bad.Boys.1995__#01-11-55_01-12-40_label_G-B2-B6'
    >>> xd_video_id("v=abc__#1_label_B2-0-0.mp4"), xd_video_id("x_label_A__vggish.npy")
    ('v=abc__#1_label_B2-0-0', 'x_label_A')
    """
    base = re.split(r"[\\/]+", name.strip().rstrip("\\/"))[-1]
    return video_id_from_path(_XD_SUFFIX.sub("", base))


def xd_classes(code: str) -> list[str]:
    """The violence classes of an XD-Violence label code; ``[]`` for ``A`` (normal).

    >>> xd_classes("B2-G-0"), xd_classes("A"), xd_classes("g-b2")
    (['B2', 'G'], [], ['G', 'B2'])
    """
    codes = code.strip().upper().split("-")
    bad = [c for c in codes if not _XD_CODE.fullmatch(c)]
    if bad or not codes:
        raise VadkitError(
            f"XD-Violence label code {code!r}: {bad[0] if bad else code!r} is not a class "
            "code (A, B1, B2, B4, B5, B6, G, 0)"
        )
    if code.strip().upper() == NORMAL.upper():  # the importers' class word for label A
        return []
    classes = [c for c in codes if c not in ("0", "A")]
    if "A" in codes and classes:
        raise VadkitError(f"XD-Violence label code {code!r}: 'A' (normal) with violence classes")
    return classes


def parse_xd_name(name: str) -> XDName:
    """Parse an XD-Violence video name, list path or annotation name.

    Lower-case codes are read as upper case (``label_b1`` = ``label_B1``); a name without a
    ``_label_<codes>`` part is an error.

    >>> parse_xd_name("RGBTest/v=x__#1_label_G-B2-0__0.npy")
    XDName(video_id='v=x__#1_label_G-B2-0', code='G-B2-0', classes=('G', 'B2'))
    >>> parse_xd_name("y_label_A").label
    0
    """
    vid = xd_video_id(name)
    m = XD_LABEL.search(vid)
    if not m:
        raise VadkitError(f"video {vid!r}: not an XD-Violence name (no _label_<code> suffix)")
    code = m.group(1).upper()
    return XDName(vid, code, tuple(xd_classes(code)))


def xd_label(video_id: str) -> tuple[int, str]:
    """``(label, class)`` of an XD-Violence video: the code kept whole as the class.

    >>> xd_label("Bad.Boys.1995__#01-11-55_01-12-40_label_G-B2-B6"), xd_label("v=x__#1_label_A")
    ((1, 'G-B2-B6'), (0, 'Normal'))
    """
    xd = parse_xd_name(video_id)
    return (1, xd.code) if xd.label else (0, NORMAL)
