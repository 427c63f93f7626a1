"""The kopf operator: ShortLink sync and PostgreSQL failover; the only Kubernetes client code."""
