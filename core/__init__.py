"""Shortlink: a Kubernetes-native URL shortener.

Layers (kept honest by the import-linter contracts in pyproject.toml):
  shortlink.domain    pure rules, no I/O
  shortlink.adapters  thin I/O wrappers (asyncpg, redis, ...)
  shortlink.services  use cases wiring domain and adapters
  shortlink.http      Sanic glue shared by the HTTP components
  shortlink.api / shortlink.redirector  the deployable components
"""

__version__ = "0.1.0"
