"""The space-time-embedding autoencoder on generated clip embeddings.

Normal clips come from three Gaussian clusters (the "classes"), anomalies from a fourth cluster
shifted away from them. Expected values are computed here with numpy / scikit-learn from the
definitions (standardise with the training mean and std, encode, Euclidean distance), not with
the scorer's own helpers.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from vadkit.errors import VadkitError
from vadkit.methods.autoencoder import (
    AUTOENCODER,
    AutoencoderConfig,
    AutoencoderModel,
    AutoencoderScorer,
)

D = 32
SMALL = {"hidden": (24, 12, 4), "epochs": 15, "batch_size": 8, "lr": 3e-3}


def _clusters(seed: int = 0):
    rng = np.random.default_rng(seed)
    centers = rng.normal(0, 2.0, (3, D))
    shifted = rng.normal(0, 2.0, D) + 4.0

    def normal(n):
        k = rng.integers(0, 3, n)
        return (centers[k] + rng.normal(0, 0.7, (n, D))).astype(np.float32), k

    train, k_train = normal(72)
    val, _ = normal(24)
    test, _ = normal(30)
    anomaly = (shifted + rng.normal(0, 0.7, (30, D))).astype(np.float32)
    return train, np.array([f"c{k}" for k in k_train]), val, test, anomaly


@pytest.fixture(scope="module")
def data():
    return _clusters()


@pytest.fixture(scope="module")
def fitted(data):
    train, classes, val, _, _ = data
    return AutoencoderScorer(**SMALL).fit(train, val, classes=classes)


def _standardised(scorer, x, train):
    # the definition: z-score with the training set's own mean and std
    return ((x - train.mean(0)) / train.std(0)).astype(np.float32)


def test_reconstruction_error_separates_shifted_cluster(data, fitted):
    _, _, _, test, anomaly = data
    y = np.r_[np.zeros(len(test)), np.ones(len(anomaly))]
    scores = fitted.score(np.concatenate([test, anomaly]))
    assert scores.shape == (len(y),)
    assert roc_auc_score(y, scores) >= 0.9
    for kind in ("latent_nearest", "embedding_nearest", "embedding_global"):
        assert roc_auc_score(y, fitted.score(np.concatenate([test, anomaly]), kind=kind)) >= 0.9


def test_architecture_mirrors_the_encoder():
    model = AutoencoderModel(AutoencoderConfig(), 768)
    enc = [(m.in_features, m.out_features) for m in model.encoder if isinstance(m, torch.nn.Linear)]
    dec = [(m.in_features, m.out_features) for m in model.decoder if isinstance(m, torch.nn.Linear)]
    assert enc == [(768, 512), (512, 256), (256, 128)]  # the seed config's 512,256,128
    assert dec == [(128, 256), (256, 512), (512, 768)]
    bn = [m.num_features for m in model.modules() if isinstance(m, torch.nn.BatchNorm1d)]
    assert bn == [512, 256, 256, 512]  # every hidden layer, not the latent nor the output
    recon, z = model.eval()(torch.zeros(2, 768))
    assert recon.shape == (2, 768) and z.shape == (2, 128)


def test_best_validation_checkpoint_is_kept():
    # tiny training set, large steps, validation from elsewhere: the error is not monotone
    rng = np.random.default_rng(3)
    train = rng.normal(0, 1, (10, D)).astype(np.float32)
    val = rng.normal(0.5, 1.5, (12, D)).astype(np.float32)
    s = AutoencoderScorer(hidden=(16, 4), epochs=25, lr=0.05, scheduler="none").fit(train, val)
    val_losses = [h["val_loss"] for h in s.history_]
    assert len(val_losses) == 25
    assert s.best_epoch_ == int(np.argmin(val_losses))
    assert s.best_epoch_ < 24, "the scenario must make a non-final epoch the best"
    # recompute the kept model's validation error from the definition
    x = torch.from_numpy(_standardised(s, val, train))
    with torch.no_grad():
        recon, _ = s.model_(x)
    err = float(((recon - x) ** 2).mean())
    assert err == pytest.approx(min(val_losses), rel=1e-5)
    assert s.best_val_loss_ == pytest.approx(min(val_losses), rel=1e-6)


def test_centroids_and_distances_from_the_definition(data, fitted):
    train, classes, _, test, _ = data
    x = torch.from_numpy(_standardised(fitted, train, train))
    with torch.no_grad():
        z = fitted.model_.encoder(x).numpy()
    assert fitted.classes_ == ["c0", "c1", "c2"]
    for i, c in enumerate(fitted.classes_):
        np.testing.assert_allclose(fitted.latent_centroids_[i], z[classes == c].mean(0), atol=1e-5)
        np.testing.assert_allclose(
            fitted.embedding_centroids_[i], x.numpy()[classes == c].mean(0), atol=1e-5
        )
    np.testing.assert_allclose(fitted.latent_centroid_, z.mean(0), atol=1e-5)
    xt = torch.from_numpy(_standardised(fitted, test, train))
    with torch.no_grad():
        zt = fitted.model_.encoder(xt).numpy()
    expected = np.sqrt(((zt[:, None, :] - z_centroids(z, classes)[None]) ** 2).sum(-1))
    np.testing.assert_allclose(fitted.class_distances(test, "latent"), expected, rtol=1e-4)
    np.testing.assert_allclose(fitted.score(test, "latent_nearest"), expected.min(1), rtol=1e-4)
    glob = np.sqrt(((xt.numpy() - x.numpy().mean(0)) ** 2).sum(-1))
    np.testing.assert_allclose(fitted.global_distance(test, "embedding"), glob, rtol=1e-4)


def z_centroids(z, classes):
    return np.stack([z[classes == c].mean(0) for c in ("c0", "c1", "c2")])


def test_step_scheduler_halves_the_rate():
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (16, 8)).astype(np.float32)
    s = AutoencoderScorer(hidden=(4,), epochs=7, lr=0.01, step_size=3, gamma=0.5).fit(x, x)
    assert [h["lr"] for h in s.history_] == pytest.approx(
        [0.01, 0.01, 0.01, 0.005, 0.005, 0.005, 0.0025]
    )


def test_save_load_gives_identical_scores(data, fitted, tmp_path):
    _, _, _, test, anomaly = data
    path = fitted.save(tmp_path / "ae.pt")
    back = AutoencoderScorer.load(path)
    both = np.concatenate([test, anomaly])
    for kind in ("reconstruction", "latent_nearest", "embedding_global"):
        np.testing.assert_array_equal(back.score(both, kind), fitted.score(both, kind))
    assert back.history_ == fitted.history_ and back.classes_ == fitted.classes_
    assert back.config == fitted.config and back.best_epoch_ == fitted.best_epoch_


def test_same_seed_same_model(data):
    train, classes, val, test, _ = data
    cfg = {**SMALL, "epochs": 4}
    a = AutoencoderScorer(**cfg).fit(train, val, classes).score(test)
    b = AutoencoderScorer(**cfg).fit(train, val, classes).score(test)
    c = AutoencoderScorer(**cfg, seed=1).fit(train, val, classes).score(test)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_registry_pair_and_contract():
    import importlib

    module, attr = AUTOENCODER
    cls = getattr(importlib.import_module(module), attr)
    assert cls is AutoencoderScorer
    s = cls(epochs=3)  # __init__ only stores the config
    assert s.config.epochs == 3 and not hasattr(s, "model_")


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda s, f: s.score(np.zeros((2, D + 1), np.float32)), "D=33"),
        (lambda s, f: s.score(np.full((2, D), np.nan, np.float32)), "NaN"),
        (lambda s, f: s.score(np.zeros(D, np.float32)), r"\(N, D\)"),
        (lambda s, f: AutoencoderScorer().score(np.zeros((2, D))), "not fitted"),
        (lambda s, f: AutoencoderScorer().fit(np.zeros((1, D))), "at least 2"),
        (lambda s, f: AutoencoderScorer(scheduler="warm"), "scheduler"),
        (lambda s, f: AutoencoderScorer(hiden=(4,)), "unknown key"),
        (lambda s, f: AutoencoderScorer(hidden=()), "hidden"),
        (lambda s, f: s.score(np.zeros((2, D)), kind="mahalanobis"), "score kind"),
        (lambda s, f: AutoencoderScorer.load(f / "missing.pt"), "does not exist"),
    ],
)
def test_bad_input_is_one_line(fitted, tmp_path, call, match):
    with pytest.raises(VadkitError, match=match) as info:
        call(fitted, tmp_path)
    assert "\n" not in str(info.value)


def test_not_a_checkpoint(tmp_path):
    bad = tmp_path / "x.pt"
    torch.save({"weights": torch.zeros(2)}, bad)
    with pytest.raises(VadkitError, match="not a vadkit autoencoder"):
        AutoencoderScorer.load(bad)
