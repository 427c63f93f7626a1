"""The web UI: static files served at /ui/ and its index at /."""
