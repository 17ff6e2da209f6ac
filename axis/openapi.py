"""The OpenAPI 3.1 description of the agency API."""

from __future__ import annotations

from typing import Any


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document served at /api/v1/openapi.json."""
    return {"openapi": "3.1.0", "info": {"title": "National Document Axis", "version": "1"}, "paths": {}}
