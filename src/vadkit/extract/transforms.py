"""Image transforms for feature extraction, in plain torch: resize, crops, normalisation.

Layout convention: NumPy arrays and uint8 tensors are frames as the readers give them,
``(N, H, W, 3)`` RGB; float tensors are ``(N, 3, H, W)``, which every function here returns
(float32, pixel values on the 0-255 scale until :func:`normalize`).

Crop order of :func:`five_crop` / :func:`ten_crop` (``order="torchvision"``, the default):
top-left, top-right, bottom-left, bottom-right, centre, then the same five crops of the
horizontally flipped frame. This is ``torchvision.transforms.functional.five_crop`` /
``ten_crop`` (pytorch/vision, ``torchvision/transforms/functional.py``). The RTFM I3D
release follows it: in its ShanghaiTech features (``i3d_samples``, all four videos) the most
similar crop of crop 0..9 is 6, 5, 8, 7, 9, 1, 0, 3, 2, 4, i.e. the mirror pairs tl/tr-flip,
tr/tl-flip, bl/br-flip, br/bl-flip, centre/centre-flip of that order. The
GowthamGottimukkala/I3D_Feature_Extraction_resnet extractor (``extract_features.py``,
``oversample_data``) uses its own order, top-left, top-right, centre, bottom-left,
bottom-right (then the flipped frame), available as ``order="i3d_oversample"``. With that
order the released features would pair 2/7, 3/9 and 4/8, which they do not.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from vadkit.backbones.config import PretrainedConfig
from vadkit.errors import VadkitError
from vadkit.extract.crops import CROP_COUNTS, CROP_ORDERS

__all__ = [
    "center_crop",
    "crop_frames",
    "five_crop",
    "hflip",
    "normalize",
    "normalize_input",
    "prepare_clips",
    "resize_short",
    "ten_crop",
    "to_tensor",
]

Frames = np.ndarray | torch.Tensor
Size = int | tuple[int, int]

_INTERPOLATIONS = ("bilinear", "bicubic", "nearest", "area")


def to_tensor(frames: Frames) -> torch.Tensor:
    """Frames as a ``(N, 3, H, W)`` tensor: uint8 stays uint8, anything else becomes float32.

    NumPy arrays and uint8 tensors are read as ``(N, H, W, 3)``; float tensors as ``(N, 3, H, W)``.
    """
    if isinstance(frames, np.ndarray):
        arr = np.ascontiguousarray(frames)
        # torch warns on read-only arrays (e.g. np.asarray of a PIL image); copy those
        x = torch.from_numpy(arr if arr.flags.writeable else arr.copy())
        channels_last = True
    elif isinstance(frames, torch.Tensor):
        x = frames
        channels_last = x.dtype == torch.uint8
    else:
        raise VadkitError(
            f"frames must be a numpy array or torch tensor, got {type(frames).__name__}"
        )
    if channels_last:
        if x.ndim != 4 or x.shape[-1] != 3:
            raise VadkitError(f"expected frames (N, H, W, 3) RGB, got shape {tuple(x.shape)}")
        x = x.permute(0, 3, 1, 2)
    elif x.ndim != 4 or x.shape[1] != 3:
        raise VadkitError(f"expected a float tensor (N, 3, H, W), got shape {tuple(x.shape)}")
    return x if x.dtype == torch.uint8 else x.float()


def _pair(size: Size, what: str) -> tuple[int, int]:
    h, w = (size, size) if isinstance(size, int | np.integer) else tuple(size)
    if h < 1 or w < 1:
        raise VadkitError(f"{what} size must be positive, got {size}")
    return int(h), int(w)


def resize_short(frames: Frames, size: int, interpolation: str = "bilinear") -> torch.Tensor:
    """Resize so the short side is ``size``, keeping the aspect ratio, with antialiasing.

    The long side becomes ``int(size * long / short)`` (truncated, as ``torchvision``'s
    ``Resize(int)``). uint8 input is resized with torch's uint8 kernels, whose output is
    rounded like PIL's (within 1-2 levels of ``PIL.Image.resize``), then cast to float.

    Returns
    -------
    (N, 3, h, w) float32 tensor, 0-255 scale.
    """
    if interpolation not in _INTERPOLATIONS:
        raise VadkitError(
            f"interpolation {interpolation!r}: choose one of {', '.join(_INTERPOLATIONS)}"
        )
    if int(size) < 1:
        raise VadkitError(f"resize size must be >= 1, got {size}")
    x = to_tensor(frames)
    h, w = x.shape[-2:]
    if h <= w:
        out = (int(size), int(size * w / h))
    else:
        out = (int(size * h / w), int(size))
    if x.shape[0] == 0:
        return torch.empty((0, 3, *out), dtype=torch.float32)
    if out == (h, w):
        return x.float()
    kw = (
        {"antialias": True, "align_corners": False}
        if interpolation in ("bilinear", "bicubic")
        else {}
    )
    if x.dtype == torch.uint8:
        try:
            return F.interpolate(x, size=out, mode=interpolation, **kw).float()
        except (RuntimeError, NotImplementedError):  # no uint8 kernel (e.g. "area", some devices)
            y = F.interpolate(x.float(), size=out, mode=interpolation, **kw)
            return y.round_().clamp_(0, 255)
    return F.interpolate(x, size=out, mode=interpolation, **kw)


def _crop(x: torch.Tensor, top: int, left: int, h: int, w: int) -> torch.Tensor:
    return x[..., top : top + h, left : left + w]


def _check_fits(x: torch.Tensor, h: int, w: int) -> tuple[int, int]:
    H, W = x.shape[-2:]
    if h > H or w > W:
        raise VadkitError(f"crop {h}x{w} does not fit frames of {H}x{W}: resize them first")
    return H, W


def center_crop(frames: Frames, size: Size) -> torch.Tensor:
    """Centre crop ``(N, 3, h, w)``; offsets ``round((H - h) / 2)`` as torchvision."""
    x = to_tensor(frames).float()
    h, w = _pair(size, "crop")
    H, W = _check_fits(x, h, w)
    return _crop(x, int(round((H - h) / 2.0)), int(round((W - w) / 2.0)), h, w)


def hflip(frames: Frames) -> torch.Tensor:
    """Mirror left-right: ``(N, 3, H, W)`` float32."""
    return to_tensor(frames).float().flip(-1)


def five_crop(frames: Frames, size: Size, order: str = "torchvision") -> torch.Tensor:
    """Four corner crops and the centre crop.

    Parameters
    ----------
    frames : ``(N, H, W, 3)`` uint8 / array, or ``(N, 3, H, W)`` float tensor.
    size : crop ``(h, w)`` or one int for a square.
    order : ``"torchvision"`` (tl, tr, bl, br, centre) or ``"i3d_oversample"``
        (tl, tr, centre, bl, br); see the module docstring.

    Returns
    -------
    (5, N, 3, h, w) float32 tensor.
    """
    if order not in CROP_ORDERS:
        raise VadkitError(f"crop order {order!r}: choose one of {', '.join(CROP_ORDERS)}")
    x = to_tensor(frames).float()
    h, w = _pair(size, "crop")
    H, W = _check_fits(x, h, w)
    boxes = {
        "tl": (0, 0),
        "tr": (0, W - w),
        "bl": (H - h, 0),
        "br": (H - h, W - w),
        "center": (int(round((H - h) / 2.0)), int(round((W - w) / 2.0))),
    }
    return torch.stack([_crop(x, *boxes[name], h, w) for name in CROP_ORDERS[order]])


def ten_crop(frames: Frames, size: Size, order: str = "torchvision") -> torch.Tensor:
    """:func:`five_crop` of the frames, then of the horizontally flipped frames: ``(10, N, 3, h, w)``.

    As in torchvision and the I3D extractors, the flipped crops are cut from the flipped
    frame, so flipped crop 0 (top-left) mirrors the original's top-right corner.
    """
    x = to_tensor(frames).float()
    return torch.cat([five_crop(x, size, order), five_crop(x.flip(-1), size, order)])


def normalize(
    frames: Frames,
    mean: tuple[float, float, float],
    std: tuple[float, float, float],
    channel_order: Literal["RGB", "BGR"] = "RGB",
) -> torch.Tensor:
    """``(x - mean) / std`` per channel on the 0-255 scale, then the channel order the weights want.

    ``mean`` and ``std`` are given in (R, G, B) order, as in every ``PretrainedConfig``; with
    ``channel_order="BGR"`` the channels are reversed after normalising. Works on any
    ``(..., 3, H, W)`` float tensor (e.g. the crops of :func:`ten_crop`) or on raw frames.
    """
    if channel_order not in ("RGB", "BGR"):
        raise VadkitError(f"channel_order must be 'RGB' or 'BGR', got {channel_order!r}")
    x = (
        frames
        if isinstance(frames, torch.Tensor) and frames.is_floating_point()
        else to_tensor(frames)
    )
    if x.ndim < 3 or x.shape[-3] != 3:
        raise VadkitError(f"expected (..., 3, H, W) frames, got shape {tuple(x.shape)}")
    m = torch.as_tensor(mean, dtype=torch.float32).view(3, 1, 1)
    s = torch.as_tensor(std, dtype=torch.float32).view(3, 1, 1)
    if m.numel() != 3 or s.numel() != 3 or bool((s == 0).any()):
        raise VadkitError(f"mean and std need 3 values each and std != 0, got {mean}, {std}")
    y = (x.float() - m) / s
    return y.flip(-3) if channel_order == "BGR" else y


def _resize_uint8(x: torch.Tensor, size: int, interpolation: str) -> torch.Tensor:
    """:func:`resize_short` of ``(N, 3, H, W)`` uint8 frames, kept uint8 (the same values)."""
    h, w = x.shape[-2:]
    out = (int(size), int(size * w / h)) if h <= w else (int(size * h / w), int(size))
    if out == (h, w) or x.shape[0] == 0:
        return x if out == (h, w) else torch.empty((0, 3, *out), dtype=torch.uint8)
    kw = (
        {"antialias": True, "align_corners": False}
        if interpolation in ("bilinear", "bicubic")
        else {}
    )
    try:
        return F.interpolate(x, size=out, mode=interpolation, **kw)
    except (RuntimeError, NotImplementedError):  # no uint8 kernel: rounded, as resize_short
        y = F.interpolate(x.float(), size=out, mode=interpolation, **kw)
        return y.round_().clamp_(0, 255).to(torch.uint8)


def crop_frames(
    frames: Frames,
    config: PretrainedConfig,
    crop: Literal["center", "five", "ten"] = "center",
) -> torch.Tensor:
    """Resize and crop decoded frames as ``config`` prescribes, staying uint8.

    The first half of :func:`prepare_clips`: cropping before converting to float keeps the
    data small (a crop is a fraction of a frame) and gives exactly the values
    :func:`prepare_clips` computes, since normalisation acts on each pixel alone.

    Parameters
    ----------
    frames : (N, H, W, 3) uint8 RGB, as the video readers return.
    config : the backbone's :class:`~vadkit.backbones.config.PretrainedConfig`.
    crop : ``"center"`` (1 crop), ``"five"`` or ``"ten"`` (torchvision order).

    Returns
    -------
    (crops, N, 3, h, w) uint8 tensor with ``(h, w) = config.input_size``; finish with
    :func:`normalize_input`.
    """
    if crop not in CROP_COUNTS:
        raise VadkitError(f"crop {crop!r}: choose one of {', '.join(CROP_COUNTS)}")
    if config.interpolation not in _INTERPOLATIONS:
        raise VadkitError(
            f"interpolation {config.interpolation!r}: choose one of {', '.join(_INTERPOLATIONS)}"
        )
    x = to_tensor(frames)
    if x.dtype != torch.uint8:
        raise VadkitError(f"crop_frames needs uint8 frames, got {x.dtype}")
    x = _resize_uint8(x, config.resize_short, config.interpolation)
    h, w = _pair(config.input_size, "crop")
    H, W = _check_fits(x, h, w)
    boxes = {
        "tl": (0, 0),
        "tr": (0, W - w),
        "bl": (H - h, 0),
        "br": (H - h, W - w),
        "center": (int(round((H - h) / 2.0)), int(round((W - w) / 2.0))),
    }
    if crop == "center":
        out = _crop(x, *boxes["center"], h, w)[None]
    else:
        order = CROP_ORDERS["torchvision"]
        out = torch.stack([_crop(x, *boxes[name], h, w) for name in order])
        if crop == "ten":
            flipped = x.flip(-1)
            out = torch.cat([out, torch.stack([_crop(flipped, *boxes[n], h, w) for n in order])])
    return out.contiguous()


def normalize_input(crops: torch.Tensor, config: PretrainedConfig) -> torch.Tensor:
    """uint8 crops ``(..., 3, h, w)`` -> normalised float32 in ``config.channel_order``."""
    return normalize(crops.float(), config.mean, config.std, config.channel_order)


def prepare_clips(
    frames: Frames,
    config: PretrainedConfig,
    crop: Literal["center", "five", "ten"] = "center",
) -> torch.Tensor:
    """Turn decoded frames into backbone input, exactly as ``config`` prescribes.

    Resize the short side to ``config.resize_short`` (with ``config.interpolation``), cut
    ``config.input_size`` crops (:func:`crop_frames`, still uint8), then normalise with
    ``config.mean`` / ``config.std`` and reorder channels to ``config.channel_order``
    (:func:`normalize_input`).

    Parameters
    ----------
    frames : (N, H, W, 3) uint8 RGB, as the video readers return.
    config : the backbone's :class:`~vadkit.backbones.config.PretrainedConfig`.
    crop : ``"center"`` (1 crop), ``"five"`` or ``"ten"`` (torchvision order).

    Returns
    -------
    (crops, N, 3, H, W) float32 tensor with ``(H, W) = config.input_size``.
    """
    x = to_tensor(frames)
    if x.dtype != torch.uint8:  # float frames: the float path (resize, normalise, crop)
        if crop not in CROP_COUNTS:
            raise VadkitError(f"crop {crop!r}: choose one of {', '.join(CROP_COUNTS)}")
        x = resize_short(x, config.resize_short, config.interpolation)
        x = normalize(x, config.mean, config.std, config.channel_order)
        if crop == "center":
            return center_crop(x, config.input_size)[None].contiguous()
        fn = five_crop if crop == "five" else ten_crop
        return fn(x, config.input_size).contiguous()
    return normalize_input(crop_frames(frames, config, crop), config).contiguous()
