"""Archive errors: one hierarchy, mapped to problem+json in axis/problems.py only."""

from __future__ import annotations

from datetime import datetime


class ArchiveError(Exception):
    """Something the archive refuses to do, with a message fit for an archivist."""

    def __init__(self, message: str = "", wording: tuple[str, dict[str, object]] | None = None) -> None:
        super().__init__(message)
        # The UI's catalogue entry and its values, so a page says it in its own language.
        self.wording = wording


class RetentionConfigError(ArchiveError):
    """config/retention.toml cannot be read or is inconsistent."""


class NotAnArchivist(ArchiveError):
    """The acting user does not exist, is disabled, or is not an archivist."""


class DisposalRefused(ArchiveError):
    """A disposal list cannot be approved or executed (state, approvals, holds)."""


class UnknownRecord(ArchiveError):
    """No disposal list, hold or document with this id."""


class PayloadDisposed(ArchiveError):
    """The message's payload was destroyed by a disposal; only its residual metadata remains."""

    def __init__(self, message_id: str, disposed_at: datetime | None, disposal_id: int | None) -> None:
        super().__init__(f"message {message_id} was disposed of under a retention schedule")
        self.message_id = message_id
        self.disposed_at = disposed_at
        self.disposal_id = disposal_id
