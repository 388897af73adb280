"""Deploy a trained model on new footage: ``predict`` (scores and events), streams, export.

>>> from vadkit.deploy import load_model, predict_video  # doctest: +SKIP
>>> pred = predict_video(load_model("runs/rtfm"), "clip.mp4")  # doctest: +SKIP
>>> [(e.start_s, e.end_s) for e in pred.events]  # doctest: +SKIP
"""

from vadkit.deploy.events import Event, find_events, threshold_at_far
from vadkit.deploy.loading import load_model
from vadkit.deploy.model import FeatureSpec, Predictor
from vadkit.deploy.predict import Prediction, predict_video

__all__ = [
    "Event",
    "FeatureSpec",
    "Prediction",
    "Predictor",
    "find_events",
    "load_model",
    "predict_video",
    "threshold_at_far",
]
