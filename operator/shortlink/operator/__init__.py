"""The kopf operator: ShortLink sync (``links``) and PostgreSQL failover (``postgres``);
Kubernetes I/O only in ``kube`` (and kopf in ``handlers`` and ``main``)."""
