"""The HTML report of a real (reduced) Ped2 ``benchmark ucsd`` output and of a weak training
run, opened in headless Chromium: no console error, no network request, every figure and table.

Chromium comes from Debian (``chromium chromium-driver``; ``.ci/run`` installs them when
missing). Without it the test skips, except in CI (``CI=true``) where it fails.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from vadkit.cli.main import main

CHROMIUM, DRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
PED2_TEST = ("01", "02", "03")  # UCSDped2.m entries 1-3: gt [61:180], [95:180], [1:146]


@pytest.fixture(scope="module")
def chromium() -> None:
    """Skip (or, in CI, fail) before any expensive fixture when Chromium is missing."""
    if CHROMIUM.is_file() and DRIVER.is_file():
        return
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI=true but {CHROMIUM} or {DRIVER} is missing (apt-get install chromium "
                    "chromium-driver)")  # fmt: skip
    pytest.skip(f"headless browser test: {CHROMIUM} / {DRIVER} not installed")


@pytest.fixture(scope="module")
def ped2_report(shared_data, tmp_path_factory) -> Path:
    """``benchmark ucsd`` on 3 training and 3 test videos of Ped2 (linked, full length)."""
    src = shared_data / "ped2"
    root = tmp_path_factory.mktemp("ped2") / "ped2"
    for side, ids in (("training", ("01", "02", "03")), ("testing", PED2_TEST)):
        (root / side / "frames").mkdir(parents=True)
        for v in ids:
            (root / side / "frames" / v).symlink_to(src / side / "frames" / v)
    lines = (src / "UCSDped2.m").read_text().splitlines()
    (root / "UCSDped2.m").write_text("\n".join(lines[: 1 + len(PED2_TEST)]) + "\n")
    out = root.parent / "bench"
    args = ["benchmark", "ucsd", "--data", str(root), "--out", str(out), "--grid", "4x4"]
    assert main([*args, "--no-appearance", "--no-store-rows"]) == 0
    return out


@pytest.fixture(scope="module")
def weak_run(tmp_path_factory) -> Path:
    """``vadkit train`` of ``mil`` (a weak method) on generated 16-d feature stores."""
    from train_helpers import make_stores

    root = tmp_path_factory.mktemp("weak")
    stores = make_stores(root / "gen", n_train=16, n_test=6)
    cfg = Path(__file__).resolve().parents[1] / "configs" / "mil" / "ucf_crime.yaml"
    out = root / "run"
    args = ["train", "--config", str(cfg), "--train", str(stores["train"]), "--test",
            str(stores["test"]), "--annotations", str(stores["gt"]), "-o", str(out)]  # fmt: skip
    for s in ("dataset=csv", "model.feature_dim=16", "model.videos_per_class=4",
              "train.iterations=20", "train.val_every=10"):  # fmt: skip
        args += ["--set", s]
    assert main(args) == 0
    assert main(["report", str(out), "--out", str(out / "report.html")]) == 0
    return out


def _open(path: Path, tmp_path: Path) -> tuple[object, list, list]:
    """Load ``path`` in headless Chromium; (driver, console log, requested URLs)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for f in FLAGS + [f"--user-data-dir={tmp_path / 'profile'}"]:
        opts.add_argument(f)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=opts)
    driver.get("about:blank")
    driver.get_log("performance")  # the browser's own start-up pages, not the report's
    driver.get_log("browser")
    driver.get(path.resolve().as_uri())
    driver.execute_script("return document.readyState")
    console = driver.get_log("browser")
    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return driver, console, urls


def _check(driver, console, urls, path: Path) -> dict[str, object]:
    from selenium.webdriver.common.by import By

    errors = [c for c in console if c["level"] in ("SEVERE", "ERROR")]
    assert errors == [], errors
    # the page itself is the only request: data: URIs are not fetched over the network
    assert [u for u in urls if not u.startswith("data:")] == [path.resolve().as_uri()], urls
    imgs = driver.find_elements(By.TAG_NAME, "img")
    assert imgs
    for img in imgs:
        assert img.get_attribute("src").startswith("data:image/png;base64,")
        assert (
            driver.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img)
            > 0
        )
    return {
        "results": [[td.text for td in tr.find_elements(By.TAG_NAME, "td")]
                    for tr in driver.find_elements(By.CSS_SELECTOR, "table.results tr")[1:]],
        "features": {tr.find_element(By.TAG_NAME, "th").text: tr.find_element(By.TAG_NAME, "td").text
                     for tr in driver.find_elements(By.CSS_SELECTOR, "table.features tr")},
        "videos": [f.text for f in driver.find_elements(By.CSS_SELECTOR, "figure.video figcaption")],
        "roc": len(driver.find_elements(By.CSS_SELECTOR, "figure.roc img")),
    }  # fmt: skip


@pytest.mark.real_data
def test_ped2_benchmark_report_in_chromium(chromium, ped2_report, tmp_path):
    page = ped2_report / "report.html"
    doc = json.loads((ped2_report / "results.json").read_text())
    driver, console, urls = _open(page, tmp_path)
    try:
        got = _check(driver, console, urls, page)
    finally:
        driver.quit()
    # one results row per results.json row, the selection in the last cell
    assert [r[0] for r in got["results"]] == [r["name"] for r in doc["rows"]]
    sel = {r[0]: r[-1] for r in got["results"]}
    assert sel["object_speed"] == "validation" and all(
        s.startswith("validation") for s in sel.values()
    )
    assert got["roc"] == 1 and len(got["videos"]) == len(PED2_TEST)
    # worst error first: the captions' errors never increase
    errs = [float(c.split("error ")[1].split(",")[0]) for c in got["videos"]]
    assert errs == sorted(errs, reverse=True)
    assert got["features"]["snippet_length"] == "1"


def test_weak_run_report_in_chromium(chromium, weak_run, tmp_path):
    page = weak_run / "report.html"
    metrics = json.loads((weak_run / "metrics.json").read_text())
    driver, console, urls = _open(page, tmp_path)
    try:
        got = _check(driver, console, urls, page)
    finally:
        driver.quit()
    (row,) = got["results"]
    assert row[0] == "mil" and row[-1] == "validation"
    assert float(row[1]) == pytest.approx(metrics["test"]["frame_auc"], abs=1e-4)
    # the store manifest written by make_stores: backbone "gen", 2 crops, 16-frame snippets
    f = got["features"]
    assert f["backbone"] == "gen" and f["crops"] == "2" and f["snippet_length"] == "16"
    assert f["weights_sha256"] == "x"
    assert got["roc"] == 1 and len(got["videos"]) == 6  # every test video of the store


def test_two_inputs_side_by_side(chromium, ped2_report, weak_run, tmp_path):
    page = tmp_path / "both.html"
    assert main(["report", str(ped2_report), str(weak_run), "--out", str(page)]) == 0
    driver, console, urls = _open(page, tmp_path)
    try:
        from selenium.webdriver.common.by import By

        _check(driver, console, urls, page)
        rows = driver.find_elements(By.CSS_SELECTOR, "table.compare tr")[1:]
        assert [r.find_element(By.TAG_NAME, "td").text for r in rows] == [
            ped2_report.name,
            weak_run.name,
        ]
        assert len(driver.find_elements(By.CSS_SELECTOR, "figure.roc-overlay img")) == 1
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def demo_out(demo_features, tmp_path_factory) -> Path:
    """``vadkit demo``'s pipeline at a smaller size (fewer videos), every stage as the demo, on
    the README steps' data and features (demo_features, the same `vadkit synth` at this size):
    the demo finds its data and extraction done (resumed) and fits, trains and reports."""
    import shutil

    from helpers_demo import DEMO_SIZE

    from vadkit.demo import DemoConfig, run_demo

    out = tmp_path_factory.mktemp("demo") / "demo"
    out.mkdir()
    (out / "data").symlink_to(demo_features / "data" / "demo")
    shutil.copytree(demo_features / "stores" / "demo", out / "store", symlinks=True)
    cfg = DemoConfig(n_train=DEMO_SIZE["--train"], n_abnormal_train=DEMO_SIZE["--abnormal-train"],
                     n_test=DEMO_SIZE["--test"], n_frames=DEMO_SIZE["--frames"])  # fmt: skip
    feats = {f: f.stat().st_mtime_ns for f in (out / "store" / "features").glob("*.npy")}
    assert len(feats) == sum(DEMO_SIZE[k] for k in ("--train", "--abnormal-train", "--test"))
    run_demo(out, cfg, progress=False, echo=lambda _: None)
    # the demo resumed: every video's features were there, none was extracted again
    assert {f: f.stat().st_mtime_ns for f in (out / "store" / "features").glob("*.npy")} == feats
    return out


def test_demo_report_in_chromium(chromium, demo_out, tmp_path):
    page = demo_out / "report.html"
    head = json.loads((demo_out / "demo.json").read_text())
    assert head["report"] == str(page)
    driver, console, urls = _open(page, tmp_path)
    try:
        from selenium.webdriver.common.by import By

        got = _check(driver, console, urls, page)
        compare = driver.find_elements(By.CSS_SELECTOR, "table.compare tr")[1:]
        assert [r.find_element(By.TAG_NAME, "td").text for r in compare] == ["scene", "mil"]
        assert len(driver.find_elements(By.CSS_SELECTOR, "figure.roc-overlay img")) == 1
    finally:
        driver.quit()
    # one results row per run, each with the way it was selected and its AUC as demo.json
    sel = {r[0]: r for r in got["results"] if r}  # a run's table: one row under its header
    assert set(sel) == {"scene", "mil"}, got["results"]
    assert sel["scene"][-1].startswith("label-free") and sel["mil"][-1] == "validation"
    for name in ("scene", "mil"):
        want = head["runs"][name]["frame_auc"]
        assert float(sel[name][1]) == pytest.approx(want, abs=1e-4)
    assert head["runs"]["scene"]["frame_auc"] > 0.8  # the fast object and wrong-way walker
    assert len(got["videos"]) == 2 * 4  # every test video of both runs
