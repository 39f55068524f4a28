"""The flows and calls HTTP API (`/api/...`), described by `openapi.yaml` beside this file."""

from controller.api.app import ApiApp, openapi_text
from controller.api.calls import RecentCalls

__all__ = ["ApiApp", "RecentCalls", "openapi_text"]
