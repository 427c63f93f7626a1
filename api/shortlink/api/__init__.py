"""The REST API: /v1/urls, bulk, unlock, API keys, OpenAPI."""
