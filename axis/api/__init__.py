"""The agency HTTP API: routes, bearer auth, body reading, problem+json mapping, the OpenAPI document."""

from aiohttp import web

from axis.api.archive import routes as archive_routes
from axis.api.exchange import routes as exchange_routes
from axis.api.pull import routes as pull_routes


def setup_api(app: web.Application) -> None:
    """Add every agency API route to ``app``."""
    app.add_routes(exchange_routes)
    app.add_routes(pull_routes)
    app.add_routes(archive_routes)
