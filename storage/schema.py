"""Every table of the axis, in one MetaData (for migrations and drift checks)."""

from storage import archive_models, models

metadata = models.Base.metadata

__all__ = ["metadata", "models", "archive_models"]
