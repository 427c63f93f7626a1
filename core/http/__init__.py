"""Sanic glue shared by the HTTP components: errors, ops endpoints, serving."""

from typing import Any, TypeAlias

from sanic import Sanic

App: TypeAlias = Sanic[Any, Any]
