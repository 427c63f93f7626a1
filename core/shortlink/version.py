"""The installed distribution's version, for build info and the OpenAPI document.

`shortlink` is a namespace package spread over the component folders (see the
docs/architecture.md, "Code layout"), so it has no ``__init__`` to carry ``__version__``.
"""

from importlib import metadata

VERSION = metadata.version("shortlink")
