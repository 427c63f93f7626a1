"""The custom resources as the operator addresses them: ShortLink (crds/shortlink.yaml)
and PostgresCluster (crds/postgrescluster.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

GROUP: Final = "shortlink.io"
VERSION: Final = "v1alpha1"
PLURAL: Final = "shortlinks"
KIND: Final = "ShortLink"
API_VERSION: Final = f"{GROUP}/{VERSION}"

FINALIZER: Final = f"{GROUP}/finalizer"
# The workspace (its slug) a namespace's ShortLinks belong to; unlabelled: none.
WORKSPACE_LABEL: Final = f"{GROUP}/workspace"

CLUSTER_PLURAL: Final = "postgresclusters"
CLUSTER_KIND: Final = "PostgresCluster"


@dataclass(frozen=True, slots=True)
class ObjectRef:
    """One ShortLink: enough to address it, post events on it and own links by it."""

    namespace: str
    name: str
    uid: str

    @property
    def key(self) -> str:
        """ "namespace/name": the owner recorded on its link row (links.managed_by)."""
        return f"{self.namespace}/{self.name}"
