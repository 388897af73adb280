"""Space-time-embedding autoencoder: one-class scoring of clip embeddings.

``AUTOENCODER`` is the ``(module, attribute)`` pair the one-class registry imports lazily.
"""

from vadkit.methods.autoencoder.config import SCHEDULERS, SCORE_KINDS, AutoencoderConfig
from vadkit.methods.autoencoder.model import AutoencoderModel
from vadkit.methods.autoencoder.scorer import AutoencoderScorer

__all__ = [
    "AUTOENCODER",
    "SCHEDULERS",
    "SCORE_KINDS",
    "AutoencoderConfig",
    "AutoencoderModel",
    "AutoencoderScorer",
]

AUTOENCODER = ("vadkit.methods.autoencoder", "AutoencoderScorer")
