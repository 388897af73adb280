"""Resize, crops (order and flip), normalisation and the prepare_clips pipeline."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from vadkit.backbones.config import PretrainedConfig
from vadkit.errors import VadkitError
from vadkit.extract.transforms import (
    center_crop,
    five_crop,
    hflip,
    normalize,
    prepare_clips,
    resize_short,
    ten_crop,
    to_tensor,
)

RED, GREEN, BLUE, WHITE, GRAY = (
    (255, 0, 0),
    (0, 255, 0),
    (0, 0, 255),
    (255, 255, 255),
    (128, 128, 128),
)


def quadrants(h: int = 10, w: int = 12) -> np.ndarray:
    """One frame (1, h, w, 3): red TL, green TR, blue BL, white BR, a grey centre pixel block,
    and a black left column in each quadrant so flips are visible."""
    img = np.zeros((h, w, 3), np.uint8)
    img[: h // 2, : w // 2] = RED
    img[: h // 2, w // 2 :] = GREEN
    img[h // 2 :, : w // 2] = BLUE
    img[h // 2 :, w // 2 :] = WHITE
    img[h // 2 - 1 : h // 2 + 1, w // 2 - 1 : w // 2 + 1] = GRAY
    img[:, 0] = 0
    return img[None]


def colour(crop: torch.Tensor) -> tuple[int, ...]:
    """Colour at the crop's (1, 1) pixel, away from the black column and the centre block."""
    return tuple(int(v) for v in crop[0, :, 1, 1 if crop.shape[-1] > 2 else 0])


def test_five_crop_torchvision_order():
    crops = five_crop(quadrants(), 4)
    assert crops.shape == (5, 1, 3, 4, 4) and crops.dtype == torch.float32
    assert [colour(c) for c in crops[:4]] == [RED, GREEN, BLUE, WHITE]
    centre = crops[4, 0]  # rows 3..6, cols 4..7: the grey block in the middle
    assert (
        tuple(centre[:, 1, 1].int().tolist()) == GRAY
        and tuple(centre[:, 2, 2].int().tolist()) == GRAY
    )


def test_five_crop_i3d_oversample_order():
    tv = five_crop(quadrants(), 4)
    ov = five_crop(quadrants(), 4, order="i3d_oversample")
    for k, j in enumerate([0, 1, 4, 2, 3]):  # tl, tr, centre, bl, br
        torch.testing.assert_close(ov[k], tv[j])
    with pytest.raises(VadkitError, match="crop order"):
        five_crop(quadrants(), 4, order="mine")


def test_ten_crop_flip():
    frames = quadrants()
    crops = ten_crop(frames, 4)
    assert crops.shape == (10, 1, 3, 4, 4)
    torch.testing.assert_close(crops[:5], five_crop(frames, 4))
    torch.testing.assert_close(crops[5:], five_crop(hflip(frames), 4))
    # flipped top-left = mirrored original top-right, and so on
    assert [colour(c) for c in crops[5:9]] == [GREEN, RED, WHITE, BLUE]
    for flipped, original in [(5, 1), (6, 0), (7, 3), (8, 2), (9, 4)]:
        torch.testing.assert_close(crops[flipped], crops[original].flip(-1))
    # the black column is on the right in flipped crops that came from the left half
    assert crops[6, 0, :, :, -1].abs().sum() == 0 and crops[0, 0, :, :, 0].abs().sum() == 0


def test_center_crop_offsets_follow_torchvision_rounding():
    x = torch.arange(7 * 6, dtype=torch.float32).reshape(1, 1, 7, 6).expand(1, 3, 7, 6)
    c = center_crop(x, (4, 4))
    # top = round(1.5) = 2 (half to even, as torchvision's int(round(...))), left = round(1.0) = 1
    torch.testing.assert_close(c, x[..., 2:6, 1:5])
    assert center_crop(x, (3, 2)).shape == (1, 3, 3, 2)
    with pytest.raises(VadkitError, match="8x4 does not fit frames of 7x6"):
        center_crop(x, (8, 4))


@pytest.mark.parametrize(
    "h,w,size,expected",
    [
        (241, 359, 256, (256, 381)),
        (359, 241, 256, (381, 256)),
        (480, 856, 256, (256, 456)),
        (77, 101, 112, (112, 146)),
    ],
)
def test_resize_short_keeps_aspect(h, w, size, expected):
    frames = np.zeros((2, h, w, 3), np.uint8)
    out = resize_short(frames, size)
    assert out.shape == (2, 3, *expected) and out.dtype == torch.float32
    assert abs(expected[0] / expected[1] - h / w) < 0.01


@pytest.mark.parametrize("mode,pil", [("bilinear", Image.BILINEAR), ("bicubic", Image.BICUBIC)])
def test_resize_short_matches_pil(mode, pil):
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (13, 19, 3), dtype=np.uint8)
    img = np.asarray(Image.fromarray(small).resize((359, 241), Image.BICUBIC))  # smooth content
    for size in (128, 256):
        out = resize_short(img[None], size, interpolation=mode)[0].permute(1, 2, 0).numpy()
        ref = np.asarray(Image.fromarray(img).resize(out.shape[1::-1], pil)).astype(np.float32)
        assert np.abs(out - ref).max() <= 2 and np.abs(out - ref).mean() < 0.05
        assert (out == np.round(out)).all()  # uint8 input: integer levels like PIL


def test_resize_short_no_op_and_float_input():
    frames = np.random.default_rng(1).integers(0, 256, (3, 16, 20, 3), dtype=np.uint8)
    same = resize_short(frames, 16)
    torch.testing.assert_close(same, torch.from_numpy(frames).permute(0, 3, 1, 2).float())
    as_float = resize_short(same, 8)  # float (N, 3, H, W) input: float kernel, not rounded
    assert as_float.shape == (3, 3, 8, 10)
    assert (as_float - resize_short(frames, 8)).abs().max() <= 1
    assert resize_short(np.zeros((0, 16, 20, 3), np.uint8), 8).shape == (0, 3, 8, 10)
    with pytest.raises(VadkitError, match="interpolation"):
        resize_short(frames, 8, interpolation="lanczos")


def test_input_layouts_agree():
    frames = np.random.default_rng(2).integers(0, 256, (2, 9, 11, 3), dtype=np.uint8)
    a = center_crop(frames, 5)
    b = center_crop(torch.from_numpy(frames), 5)
    c = center_crop(torch.from_numpy(frames).permute(0, 3, 1, 2).float(), 5)
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a, c)
    with pytest.raises(VadkitError, match=r"\(N, H, W, 3\)"):
        to_tensor(frames[0])
    with pytest.raises(VadkitError, match=r"\(N, 3, H, W\)"):
        to_tensor(torch.zeros(2, 9, 11, 3))


def test_normalize_constants_and_bgr():
    frames = np.empty((1, 2, 2, 3), np.uint8)
    frames[...] = (200, 100, 50)
    rgb = normalize(frames, (102.0, 98.0, 90.0), (1.0, 2.0, 4.0))
    torch.testing.assert_close(rgb[0, :, 0, 0], torch.tensor([98.0, 1.0, -10.0]))
    bgr = normalize(frames, (102.0, 98.0, 90.0), (1.0, 2.0, 4.0), channel_order="BGR")
    torch.testing.assert_close(bgr[0, :, 0, 0], torch.tensor([-10.0, 1.0, 98.0]))
    # I3D (Tushar-N): [0, 255] -> [-2, 2.44] with mean 114.75, std 57.375
    edge = normalize(np.array([[[[0, 255, 114]]]], np.uint8), (114.75,) * 3, (57.375,) * 3)
    torch.testing.assert_close(
        edge.flatten(), torch.tensor([-2.0, 140.25 / 57.375, -0.75 / 57.375])
    )
    crops = torch.full((10, 2, 3, 4, 4), 255.0)  # any (..., 3, H, W)
    assert normalize(crops, (127.0,) * 3, (128.0,) * 3).shape == (10, 2, 3, 4, 4)
    with pytest.raises(VadkitError, match="channel_order"):
        normalize(frames, (0, 0, 0), (1, 1, 1), channel_order="GBR")
    with pytest.raises(VadkitError, match="std"):
        normalize(frames, (0, 0, 0), (1, 0, 1))


def _config(**kw) -> PretrainedConfig:
    base = dict(
        name="test",
        kind="clip",
        weights_file="none.pth",
        weights_source="tests",
        input_size=(32, 24),
        resize_short=40,
        clip_len=16,
        mean=(102.0, 98.0, 90.0),
        std=(2.0, 2.0, 2.0),
        out_dim=8,
        channel_order="BGR",
    )
    base.update(kw)
    return PretrainedConfig(**base)


@pytest.mark.parametrize("crop,n", [("center", 1), ("five", 5), ("ten", 10)])
def test_prepare_clips_shapes_and_values(crop, n):
    frames = np.random.default_rng(3).integers(0, 256, (4, 61, 83, 3), dtype=np.uint8)
    cfg = _config()
    out = prepare_clips(frames, cfg, crop=crop)
    assert out.shape == (n, 4, 3, 32, 24) and out.dtype == torch.float32 and out.is_contiguous()
    resized = resize_short(frames, 40)  # (4, 3, 40, 54)
    manual = {
        "center": lambda x: center_crop(x, (32, 24))[None],
        "five": five_crop,
        "ten": ten_crop,
    }
    crops = manual[crop](resized, (32, 24)) if crop != "center" else manual[crop](resized)
    expected = normalize(crops, cfg.mean, cfg.std, "BGR")
    torch.testing.assert_close(out, expected)


def test_prepare_clips_errors():
    frames = np.zeros((2, 20, 20, 3), np.uint8)
    with pytest.raises(VadkitError, match="crop 'eleven'"):
        prepare_clips(frames, _config(), crop="eleven")
    with pytest.raises(VadkitError, match="does not fit"):
        prepare_clips(frames, _config(resize_short=16), crop="center")


def test_prepare_clips_real_configs():
    from vadkit.backbones.c3d import CONFIG as C3D
    from vadkit.backbones.i3d import CONFIG as I3D

    frames = np.full((2, 48, 85, 3), (102, 98, 90), np.uint8)
    c3d = prepare_clips(frames, C3D, crop="center")
    assert c3d.shape == (1, 2, 3, 112, 112)
    torch.testing.assert_close(c3d, torch.zeros_like(c3d), atol=1e-5, rtol=0)  # C3D mean, BGR
    i3d = prepare_clips(np.full((1, 48, 85, 3), 255, np.uint8), I3D, crop="ten")
    assert i3d.shape == (10, 1, 3, 224, 224)
    torch.testing.assert_close(i3d, torch.full_like(i3d, (255 - 114.75) / 57.375))


@pytest.mark.parametrize("crop", ["center", "five", "ten"])
@pytest.mark.parametrize("name", ["efficientnet_lite0", "c3d", "clip_vit_b16"])
def test_crop_before_float_gives_the_float_pipeline_values(name, crop):
    """uint8 crops then normalise == resize, normalise the whole frame, then crop (bit for bit)."""
    from vadkit.backbones.registry import get_config
    from vadkit.extract.transforms import crop_frames, normalize_input

    config = get_config(name)
    frames = np.random.default_rng(1).integers(0, 256, (2, 120, 160, 3), dtype=np.uint8)
    x = normalize(resize_short(frames, config.resize_short, config.interpolation),
                  config.mean, config.std, config.channel_order)  # fmt: skip
    cut = {"center": lambda z: center_crop(z, config.input_size)[None],
           "five": lambda z: five_crop(z, config.input_size),
           "ten": lambda z: ten_crop(z, config.input_size)}[crop]  # fmt: skip
    small = crop_frames(frames, config, crop)
    assert small.dtype == torch.uint8 and small.shape[:2] == (len(cut(x)), 2)
    assert torch.equal(normalize_input(small, config), cut(x))
    assert torch.equal(prepare_clips(frames, config, crop), cut(x))
