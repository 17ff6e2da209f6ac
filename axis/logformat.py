"""Log lines for machines: one JSON object per line, a request's own JSON fields merged in."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any


class Fields:
    """A log message made of fields: rendered as JSON only when a handler writes it, and only once.

    A JSON formatter merges the fields themselves into its line (no JSON written and read back).
    """

    __slots__ = ("fields",)

    def __init__(self, fields: dict[str, Any]) -> None:
        self.fields = fields

    def __str__(self) -> str:
        return json.dumps(self.fields)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object: time, level, logger, and the message's fields or text."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as one line of JSON."""
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name,
        }
        if isinstance(record.msg, Fields) and not record.args:
            line.update(record.msg.fields)
            return self._finish(line, record)
        message = record.getMessage()
        try:
            fields = json.loads(message) if message.startswith("{") else None
        except ValueError:
            fields = None
        if isinstance(fields, dict):
            line.update(fields)  # the access log already writes its fields as JSON
        else:
            line["message"] = message
        return self._finish(line, record)

    def _finish(self, line: dict[str, Any], record: logging.LogRecord) -> str:
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


#: Loggers kept at WARNING: APScheduler's "Adding job tentatively" / "Added job", Alembic's "Context impl".
QUIET_LIBRARIES = ("apscheduler", "alembic")


def configure_logging(log_format: str) -> None:
    """Root logging at INFO, as text (the message alone) or JSON lines."""
    if log_format not in ("text", "json"):
        raise ValueError(f"log_format must be 'text' or 'json', not {log_format!r}")
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter("%(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    # Libraries that narrate their own start at INFO (each job added, the migration context): only their
    # warnings are worth a line; `axis serve` says itself where it listens and what it uses.
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(logging.WARNING)
