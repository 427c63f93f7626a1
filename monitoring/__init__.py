"""Prometheus rules and the Grafana dashboard for Shortlink: the SLO rules and the
dashboard are generated here (``python -m monitoring``); the other rule files in
``monitoring/rules/`` are written by hand."""
