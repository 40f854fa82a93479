"""Service settings read from the environment (and an optional `.env` file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the service reads from its environment; see README "Configuration"."""

    model_config = SettingsConfigDict(env_file=".env", env_ignore_empty=True, extra="ignore")

    # Database: a SQLite file by default; `postgresql://...` uses PostgreSQL + PostGIS.
    DATABASE_URL: str = "sqlite:///./var/gunmane.sqlite"
    # Dask: empty means an in-process LocalCluster; otherwise `tcp://host:8786`.
    DASK_SCHEDULER_ADDRESS: str | None = None
    DASK_WORKERS: int = 1
    DASK_THREADS_PER_WORKER: int = 2
    DASK_PROCESSES: bool = False
    # Nice value of the threads that run jobs and their solves (Linux: per thread; 0 = as is).
    # On shared cores it keeps the API answering while planning runs.
    JOB_NICE: int = 10
    # Where uploads are unpacked before validation and where the demo keeps its files.
    DATA_DIR: Path = Path("./var/data")
    MAX_UPLOAD_MB: float = 50.0
    # A photo of a stop ticked done by hand (a phone camera's JPEG is 2-6 MB).
    MAX_PHOTO_MB: float = 10.0
    # Zip archives: refuse more than this uncompressed or a compression ratio above MAX_ZIP_RATIO.
    MAX_UNZIPPED_MB: float = 500.0
    MAX_ZIP_RATIO: float = 100.0
    API_PREFIX: str = "/api/v1"
    OGC_PREFIX: str = "/ogc"
    # OGC API - Features page size.
    OGC_DEFAULT_LIMIT: int = 100
    OGC_MAX_LIMIT: int = 10000
    # Read cache (service/read_cache.py) per server process: whole responses of the route
    # lists and OGC reads. A contractor reads any day of a stored fiscal year: a region's year
    # of daily route lists is about 40 MB on the 11-town demo (docs/benchmarks.md).
    READ_CACHE_MB: float = 256.0
    # Mark jobs left running by a crash as failed when the app starts.
    RECOVER_JOBS_ON_STARTUP: bool = True
    # Background map tiles of every map page ({z}/{x}/{y} template) and their credit (HTML).
    # "off" (or empty) draws the maps on a plain background: closed networks without a tile
    # server. GSI tiles: https://cyberjapandata.gsi.go.jp/xyz/std/{z}/{x}/{y}.png with
    # TILE_ATTRIBUTION='<a href="https://maps.gsi.go.jp/development/ichiran.html">地理院タイル</a>'
    # and TILE_MAX_ZOOM=18. The OpenStreetMap credit of the data is always shown.
    TILE_URL: str = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
    TILE_ATTRIBUTION: str = ""
    TILE_MAX_ZOOM: int = 19
    # Times on pages: the town's zone, one format (2026-04-01 17:48); JAPANESE_ERA writes dates
    # on Japanese pages as 令和8年4月1日.
    TIME_ZONE: str = "Asia/Tokyo"
    JAPANESE_ERA: bool = False
    # How long a browser stays signed in (the session cookie's Max-Age), by role of the key:
    # a crew's phone for the contract season, office staff for a working day.
    SESSION_HOURS_CONTRACTOR: float = 30 * 24.0
    SESSION_HOURS_STAFF: float = 12.0
    # Routing a plan from the planner page (its patrol time and saving against each town alone):
    # seconds per 200 tasks of each region's and town's solve (gis_data.planning.plan_routing
    # .RoutingEffort), or a count of solver iterations (reproducible) instead.
    EVALUATE_ROUTE_SECONDS: float = 2.0
    EVALUATE_ROUTE_ITERATIONS: int | None = None

    @field_validator("DATABASE_URL")
    @classmethod
    def _psycopg_driver(cls, value: str) -> str:
        """Use the psycopg 3 driver for plain `postgresql://` and `postgres://` URLs."""
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @field_validator("TIME_ZONE")
    @classmethod
    def _zone(cls, value: str) -> str:
        """An IANA zone name the system knows (Asia/Tokyo), named in the error otherwise."""
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            msg = f"TIME_ZONE: unknown time zone {value!r} (an IANA name such as Asia/Tokyo)"
            raise ValueError(msg) from None
        return value

    @field_validator("API_PREFIX", "OGC_PREFIX")
    @classmethod
    def _prefix(cls, value: str) -> str:
        """Prefixes start with a slash and never end with one ('' mounts at the root)."""
        value = value.strip().rstrip("/")
        if value and not value.startswith("/"):
            value = "/" + value
        return value

    def session_seconds(self, role: str) -> int:
        """The session cookie's Max-Age for a key of ``role``."""
        hours = self.SESSION_HOURS_CONTRACTOR if role == "contractor" else self.SESSION_HOURS_STAFF
        return int(hours * 3600)

    @property
    def max_upload_bytes(self) -> int:
        """Upload size limit in bytes."""
        return int(self.MAX_UPLOAD_MB * 1024 * 1024)

    @property
    def max_unzipped_bytes(self) -> int:
        """Uncompressed size limit of a zip upload in bytes."""
        return int(self.MAX_UNZIPPED_MB * 1024 * 1024)


@lru_cache
def get_settings() -> Settings:
    """The settings of this process (read once)."""
    return Settings()
