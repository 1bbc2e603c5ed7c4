"""The REST API. `create_app(engine=..., api_keys=...)` builds the application."""

from api.app import create_app

__all__ = ["create_app"]
