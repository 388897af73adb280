"""S3R (Wu et al., ECCV 2022): RTFM with en-Normal / de-Normal attention to a normal dictionary."""

from vadkit.methods.s3r.config import S3RConfig
from vadkit.methods.s3r.model import S3RModel

__all__ = ["S3RConfig", "S3RModel"]
