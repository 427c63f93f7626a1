"""The ShortLink custom resource as the operator addresses it (crds/shortlink.yaml)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

GROUP: Final = "shortlink.io"
VERSION: Final = "v1alpha1"
PLURAL: Final = "shortlinks"
KIND: Final = "ShortLink"
API_VERSION: Final = f"{GROUP}/{VERSION}"

FINALIZER: Final = f"{GROUP}/finalizer"


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
