"""Trainer parts without training: balanced batches, schedule resolution, gather."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest
import torch

from vadkit.errors import VadkitError
from vadkit.train.config import TrainConfig
from vadkit.train.data import BalancedSampler, gather
from vadkit.train.schedule import resolve_schedule


def test_batches_are_n_normal_then_n_abnormal_without_repeats_in_a_pass():
    labels = np.array([0, 1, 0, 1, 0, 1, 0, 1, 1, 0, 0, 1])  # 6 normal, 6 abnormal
    s = BalancedSampler(labels, n=2, seed=3)
    normal, abnormal = np.flatnonzero(labels == 0), np.flatnonzero(labels == 1)
    batches = [next(s) for _ in range(6)]
    for b in batches:
        assert len(b) == 4
        assert (labels[b[:2]] == 0).all() and (labels[b[2:]] == 1).all()
    # 6 per class, 2 per batch: batches 0-2 use each video once, as do batches 3-5
    for part in (batches[:3], batches[3:]):
        assert sorted(np.concatenate([b[:2] for b in part])) == sorted(normal)
        assert sorted(np.concatenate([b[2:] for b in part])) == sorted(abnormal)
    again = BalancedSampler(labels, n=2, seed=3)
    assert all(np.array_equal(next(again), b) for b in batches)
    other = BalancedSampler(labels, n=2, seed=4)
    assert not all(np.array_equal(next(other), b) for b in batches)


def test_a_class_smaller_than_n_drops_its_remainder_and_reshuffles():
    labels = np.array([0] * 5 + [1] * 4)
    s = BalancedSampler(labels, n=2, seed=0)
    first = [next(s)[:2] for _ in range(2)]  # 4 of the 5 normal videos, then a reshuffle
    assert len(set(np.concatenate(first).tolist())) == 4
    with pytest.raises(VadkitError, match="1 videos of label 1, a batch needs 2"):
        BalancedSampler(np.array([0, 0, 1]), n=2, seed=0)


def test_gather_gives_model_layout():
    feats = np.arange(4 * 3 * 2 * 5, dtype=np.float32).reshape(4, 3, 2, 5)  # (N, S, C, D)
    x = gather(feats, np.array([2, 0]))
    assert x.shape == (2, 2, 3, 5) and x.dtype == np.float32
    np.testing.assert_array_equal(x[0, 1, 2], feats[2, 2, 1])
    np.testing.assert_array_equal(x[1, 0, 0], feats[0, 0, 0])


@dataclass(frozen=True)
class RtfmLike:
    batch_normal: int = 32
    iterations: int = 15000
    n_segments: int = 32


@dataclass(frozen=True)
class AnmLike:
    batch_size: int = 32
    max_epoch: int = 10
    seed: int = 1111


@dataclass(frozen=True)
class MilLike:
    videos_per_class: int = 30
    iterations: int = 20000


def test_schedule_reads_each_reference_spelling():
    s = resolve_schedule(TrainConfig(), RtfmLike(), n_normal=640)
    assert (s.batch_per_class, s.total_steps, s.steps_per_epoch, s.seed) == (32, 15000, None, 0)
    assert s.val_every == 100 and s.source["batch_per_class"] == "model.batch_normal"
    s = resolve_schedule(TrainConfig(), AnmLike(), n_normal=640)
    # epochs: 640 // 32 = 20 steps each, 10 epochs; validation once per epoch
    assert (s.total_steps, s.steps_per_epoch, s.val_every, s.seed) == (200, 20, 20, 1111)
    s = resolve_schedule(TrainConfig(), MilLike(), n_normal=640)
    assert (s.batch_per_class, s.total_steps, s.n_segments) == (30, 20000, 32)
    # the run's train section wins; iterations given override a method's epochs
    s = resolve_schedule(TrainConfig(iterations=7, batch_per_class=4, seed=2), AnmLike(), 640)
    assert (s.batch_per_class, s.total_steps, s.steps_per_epoch, s.seed) == (4, 7, None, 2)
    assert s.source["iterations"] == "train.iterations"
    with pytest.raises(VadkitError, match="no batch size.*set train.batch_per_class"):
        resolve_schedule(TrainConfig(iterations=5), object(), 10)
    with pytest.raises(VadkitError, match="no schedule"):
        resolve_schedule(TrainConfig(batch_per_class=2), object(), 10)


def test_best_state_keeps_the_best_and_counts_patience():
    """Hand-worked: values 0.5, 0.7, 0.7, 0.6 at steps 10..40."""
    from vadkit.train.loop import BestState

    model = torch.nn.Linear(1, 1, bias=False)
    first = BestState(min_delta=0.0, patience=2)  # ties keep the first best
    later = BestState(min_delta=-1e-9, patience=None)  # ties go to the later step
    stops = []
    for step, value in zip((10, 20, 30, 40), (0.5, 0.7, 0.7, 0.6), strict=True):
        with torch.no_grad():
            model.weight.fill_(float(step))
        stops.append(first.update(model, value, step))
        later.update(model, value, step)
    assert stops == [False, False, False, True]  # 30 and 40 did not improve on 20
    assert (first.step, first.metric, later.step) == (20, 0.7, 30)
    assert first.restore(model, last_step=40) == 20 and model.weight.item() == 20.0
    assert later.restore(model, last_step=40) == 30 and model.weight.item() == 30.0
    untouched = BestState()
    assert untouched.restore(model, last_step=7) == 7 and model.weight.item() == 30.0
