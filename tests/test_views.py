"""Store views: select by split / label / class / ids, seeded stratified validation split."""

from __future__ import annotations

import numpy as np
import pytest

from vadkit.errors import VadkitError
from vadkit.io.store import FeatureStore, StoreInfo, StoreWriter
from vadkit.io.views import StoreView, select, train_val_split

INFO = StoreInfo(backbone="test", weights_sha256="random-init", dim=3, crops=1)

# id, split, label, class
VIDEOS = [
    ("n1", "train", 0, "Normal"),
    ("a1", "train", 1, "Fight"),
    ("n2", "train", 0, "Normal"),
    ("n3", "train", 0, "Normal"),
    ("a2", "train", 1, "Fight"),
    ("t1", "test", 1, "Fight"),
    ("t2", "test", 0, "Normal"),
    ("u1", "test", None, None),
]


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> FeatureStore:
    w = StoreWriter(tmp_path_factory.mktemp("views") / "s", INFO)
    for i, (vid, split, label, cls) in enumerate(VIDEOS):
        w.add(vid, np.full((i + 1, 1, 3), i, np.float32), split=split, label=label, cls=cls)
    return w.finalize(order=[v[0] for v in VIDEOS])


def test_select_filters_and_keeps_store_order(store):
    train = select(store, split="train")
    assert isinstance(train, StoreView) and train.ids == ["n1", "a1", "n2", "n3", "a2"]
    assert list(train) == train.ids and len(train) == 5 and "a1" in train and "t1" not in train
    assert select(store, split="test").labels.tolist() == [1, 0, -1]
    assert select(store, label=1).ids == ["a1", "a2", "t1"]
    assert select(store, label=-1).ids == ["u1"]
    assert select(store, classes=["Fight", "Normal"], split="test").ids == ["t1", "t2"]
    assert select(train, ids=["a2", "n1"]).ids == ["n1", "a2"]  # view order, not ids order
    assert select(select(store, split="train"), label=1, classes="Fight").ids == ["a1", "a2"]
    assert select(store, split="train", label=-1).ids == []  # matches nothing: empty


def test_view_load_and_entries(store):
    view = select(store, split="test")
    assert [e.id for e in view.entries] == view.ids and view.info is store.info
    np.testing.assert_array_equal(view.load("t2"), np.full((7, 1, 3), 6, np.float32))
    with pytest.raises(VadkitError, match="'n1' is not in this view"):
        view.load("n1")


def test_select_errors_name_what_exists(store):
    with pytest.raises(VadkitError, match=r"no video has split 'val' \(it has: test, train\)"):
        select(store, split="val")
    with pytest.raises(VadkitError, match="no video has class 'Theft'"):
        select(store, classes=["Theft"])
    with pytest.raises(VadkitError, match="1 video\\(s\\) not in the view, e.g. 't1'"):
        select(select(store, split="train"), ids=["t1"])
    with pytest.raises(VadkitError, match="label must be"):
        select(store, label=2)


def test_train_val_split_is_stratified_seeded_and_recorded(store):
    train = select(store, split="train")  # 3 normal, 2 anomalous
    tr, val, record = train_val_split(train, fraction=0.5, seed=3)
    # half of 5 rounds up to 3; shares 1.5 normal and 1.0 anomalous -> 1 + 1, and the
    # leftover goes to the larger remainder (normal): 2 normal + 1 anomalous
    assert len(val) == 3 and sorted(val.labels.tolist()) == [0, 0, 1]
    assert set(tr.ids) | set(val.ids) == set(train.ids) and not set(tr.ids) & set(val.ids)
    assert tr.ids == [v for v in train.ids if v in tr]  # input order kept
    assert record == {
        "fraction": 0.5, "seed": 3, "stratify": "label",
        "train_ids": tr.ids, "val_ids": val.ids,
    }  # fmt: skip
    # same ids, fraction and seed -> same split, whatever the order of the view
    reordered = StoreView(store, list(reversed(train.entries)))
    assert set(train_val_split(reordered, 0.5, seed=3)[1].ids) == set(val.ids)
    seen = {tuple(sorted(train_val_split(train, 0.5, seed=s)[1].ids)) for s in range(12)}
    assert len(seen) > 1  # the seed matters
    for s in range(12):  # and every draw keeps the 2 + 1 split
        assert sorted(train_val_split(train, 0.5, seed=s)[1].labels.tolist()) == [0, 0, 1]


def test_train_val_split_errors(store):
    train = select(store, split="train")
    with pytest.raises(VadkitError, match="between 0 and 1"):
        train_val_split(train, fraction=1.0)
    with pytest.raises(VadkitError, match="leaves no validation video"):
        train_val_split(train, fraction=0.05)
    with pytest.raises(VadkitError, match="stratify"):
        train_val_split(train, stratify="class")
