"""``vadkit import ...``: return codes, the one-line summary and one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vadkit.cli.main import main
from vadkit.io.store import FeatureStore


def windows_list(tmp_path: Path, names: list[str]) -> Path:
    lst = tmp_path / "ucf-i3d-test.list"
    lst.write_bytes(b"".join(f"G:\\UCF_Test_ten_crop_i3d\\{n}_i3d.npy\r\n".encode() for n in names))
    return lst


def make_files(root: Path, names: list[str], shape=(2, 10, 2048)) -> None:
    root.mkdir(parents=True, exist_ok=True)
    src = root / "_src.npy"
    np.save(src, np.ones(shape, np.float32))
    for n in names:
        (root / f"{n}_i3d.npy").symlink_to(src)


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


NAMES = ["Abuse028_x264", "Normal_Videos_003_x264", "Arson011_x264"]


def test_rtfm_cli_summary(tmp_path, capsys):
    lst = windows_list(tmp_path, NAMES)
    make_files(tmp_path / "root", NAMES)
    counts = tmp_path / "Test_Annotation.txt"
    counts.write_text("Abuse/Abuse028_x264.mp4 32 Abuse 5 20 -1 -1\n")
    rc = main(
        ["import", "rtfm", "--list", str(lst), "--root", str(tmp_path / "root"),
         "--frame-counts", str(counts), "--out", str(tmp_path / "s")]
    )  # fmt: skip
    assert rc == 0
    line = one_line(capsys.readouterr().out)
    assert "3 videos" in line and "test 3 (2 anomalous, 1 normal)" in line and "T 2-2" in line
    store = FeatureStore.open(tmp_path / "s")
    assert store.entry("Abuse028_x264").n_frames == 32
    assert store.entry("Arson011_x264").n_frames is None


def test_rtfm_cli_missing_file_is_one_line_error(tmp_path, capsys):
    lst = windows_list(tmp_path, NAMES)
    make_files(tmp_path / "root", NAMES[:1])
    rc = main(
        [
            "import",
            "rtfm",
            "--list",
            str(lst),
            "--root",
            str(tmp_path / "root"),
            "--out",
            str(tmp_path / "s"),
        ]
    )
    assert rc == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith("vadkit: error: ")
    assert f"{lst}:2:" in line and str(tmp_path / "root" / "Normal_Videos_003_x264_i3d.npy") in line


def test_rtfm_cli_shanghaitech_needs_masks(shared_data, tmp_path, capsys):
    lst = shared_data / "rtfm_lists" / "shanghai-i3d-test-10crop.list"
    rc = main(["import", "rtfm", "--list", str(lst), "--out", str(tmp_path / "s")])
    assert rc == 2
    assert "--masks" in one_line(capsys.readouterr().err)


def test_rtfm_cli_real_shanghaitech(shared_data, tmp_path, capsys):
    lst = tmp_path / "sh-test.list"
    lst.write_text("/home/yu/yu_ssd/SH_Test_ten_crop_i3d/01_001_i3d.npy\n")
    rc = main(
        ["import", "rtfm", "--list", str(lst), "--root", str(shared_data / "i3d_samples" / "shanghaitech"),
         "--masks", str(shared_data / "shanghaitech"), "--out", str(tmp_path / "s")]
    )  # fmt: skip
    assert rc == 0
    assert "1 video; test 1 (1 normal); T 48-48" in capsys.readouterr().out


def test_s3r_cli(tmp_path, capsys):
    csv_file = tmp_path / "ucf-crime.testing.csv"
    csv_file.write_text("video-id\n" + "\n".join(NAMES) + "\n")
    make_files(tmp_path / "i3d" / "test", NAMES)
    rc = main(
        [
            "import",
            "s3r",
            "--csv",
            str(csv_file),
            "--features",
            str(tmp_path / "i3d"),
            "--out",
            str(tmp_path / "s"),
        ]
    )
    assert rc == 0
    assert "test 3 (2 anomalous, 1 normal)" in one_line(capsys.readouterr().out)


def test_per_crop_cli_and_unequal_T(tmp_path, capsys):
    rows = []
    for name, Ts in [("v=a__#1_label_A", [2] * 5), ("v=b__#1_label_G-0-0", [2, 2, 3, 2, 2])]:
        for k, T in enumerate(Ts):
            np.save(tmp_path / f"{name}__{k}.npy", np.zeros((T, 4), np.float32))
            rows.append(f"/media/x/RGBTest/{name}__{k}.npy")
    lst = tmp_path / "rgb_test.list"
    lst.write_text("\n".join(rows[:5]) + "\n")
    args = ["import", "per-crop", str(lst), "--root", str(tmp_path), "--crops", "5"]
    assert main([*args, "--out", str(tmp_path / "s")]) == 0
    assert "test 1 (1 normal); T 2-2; features (T, 5, 4)" in capsys.readouterr().out
    lst.write_text("\n".join(rows) + "\n")
    assert main([*args, "--out", str(tmp_path / "t")]) == 2
    assert "video 'v=b__#1_label_G-0-0'" in one_line(capsys.readouterr().err)


def test_sultani_cli_real_files(shared_data, tmp_path, capsys):
    folder = shared_data / "ucf_crime" / "c3d_32seg_samples"
    rc = main(
        ["import", "sultani", str(folder), "--frame-counts", str(folder / "videos.csv"),
         "--split", "test", "--out", str(tmp_path / "s")]
    )  # fmt: skip
    assert rc == 0
    line = one_line(capsys.readouterr().out)
    assert "10 videos; test 10 (8 anomalous, 2 normal); T 32-32; features (T, 1, 4096) c3d" in line


def test_generic_cli(tmp_path, capsys):
    np.save(tmp_path / "a.npy", np.ones((3, 8), np.float32))
    (tmp_path / "v.csv").write_text("id,label,class,split\na,normal,Normal,train\n")
    rc = main(
        [
            "import",
            "generic",
            "--features",
            str(tmp_path),
            "--csv",
            str(tmp_path / "v.csv"),
            "--out",
            str(tmp_path / "s"),
        ]
    )
    assert rc == 0
    assert "train 1 (1 normal)" in capsys.readouterr().out
    rc = main(
        [
            "import",
            "generic",
            "--features",
            str(tmp_path),
            "--csv",
            str(tmp_path / "none.csv"),
            "--out",
            str(tmp_path / "t"),
        ]
    )
    assert rc == 2
    assert "none.csv" in one_line(capsys.readouterr().err)


@pytest.mark.parametrize("sub", ["rtfm", "s3r", "per-crop", "sultani", "generic"])
def test_help_has_example(sub, capsys):
    assert main(["import", sub, "--help"]) == 0
    assert "vadkit import " + sub in capsys.readouterr().out


# -- defects: flags named, errors before work, choices from the library ------------------------


def generic_args(tmp_path: Path) -> list[str]:
    (tmp_path / "f").mkdir(exist_ok=True)
    np.save(tmp_path / "f" / "a.npy", np.zeros((2, 1, 4), np.float32))
    (tmp_path / "v.csv").write_text("id,label\na,0\n")
    return [
        "import",
        "generic",
        "--features",
        str(tmp_path / "f"),
        "--csv",
        str(tmp_path / "v.csv"),
    ]


def test_short_out_flag_and_existing_ids_need_overwrite(tmp_path, capsys):
    args = generic_args(tmp_path)
    assert main([*args, "-o", str(tmp_path / "s")]) == 0
    capsys.readouterr()
    assert main([*args, "-o", str(tmp_path / "s")]) == 2
    err = one_line(capsys.readouterr().err)
    assert "already holds 1 of these videos ('a')" in err and "--overwrite" in err
    assert main([*args, "-o", str(tmp_path / "s"), "--overwrite"]) == 0


def test_out_that_is_a_file_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main([*generic_args(tmp_path), "--out", str(tmp_path / "file")]) == 2
    assert "is a file, not a directory; choose another --out" in one_line(capsys.readouterr().err)
    assert main([*generic_args(tmp_path), "--out", str(tmp_path / "file" / "s")]) == 2
    assert "cannot create store" in one_line(capsys.readouterr().err)


def test_missing_frame_counts_file_is_named_as_such(tmp_path, capsys):
    lst = windows_list(tmp_path, NAMES)
    make_files(tmp_path / "root", NAMES)
    rc = main(
        ["import", "rtfm", "--list", str(lst), "--root", str(tmp_path / "root"),
         "--frame-counts", str(tmp_path / "missing.txt"), "-o", str(tmp_path / "s")]
    )  # fmt: skip
    assert rc == 2
    err = one_line(capsys.readouterr().err)
    assert "frame counts file not found" in err and "missing.txt" in err


def test_bad_numbers_name_the_flag(tmp_path, capsys):
    assert main([*generic_args(tmp_path), "--segments", "-3", "-o", str(tmp_path / "s")]) == 2
    assert "--segments" in one_line(capsys.readouterr().err)
    assert not (tmp_path / "s").exists()


def test_dataset_choices_come_from_the_library():
    from vadkit.cli.cmd_import import rtfm
    from vadkit.datasets.importers.labels import DATASETS

    (choice,) = [p for p in rtfm.params if p.name == "dataset"]
    assert list(choice.type.choices) == ["auto", *DATASETS]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--train", "-1"], "--train"),
        (["--test", "-2"], "--test"),
        (["--train", "0", "--test", "0"], "--train and --test are both 0"),
        (["--frames", "8"], "--frames"),
    ],
)
def test_synth_counts_are_checked_and_named(tmp_path, capsys, args, message):
    assert main(["synth", "--out", str(tmp_path / "o"), *args]) == 2
    assert message in one_line(capsys.readouterr().err)
    assert not (tmp_path / "o").exists()


def test_synth_out_that_cannot_be_written_is_one_line(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["synth", "-o", str(tmp_path / "file")]) == 2
    assert "output folder" in one_line(capsys.readouterr().err)
    assert main(["synth", "-o", str(tmp_path / "file" / "sub")]) == 2
    assert "is a file, not a directory" in one_line(capsys.readouterr().err)
