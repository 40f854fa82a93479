"""The FastAPI application: routers, the exception handler, job recovery and the Dask runner."""

from __future__ import annotations

import importlib
import importlib.util
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles

from service import __name__ as _package
from service import processes as _processes  # noqa: F401 - registers the processes
from service.api import (
    boundaries,
    depots,
    jobs,
    keys,
    network,
    ogc,
    patrols,
    planning_settings,
    plans,
    scenarios,
    uploads,
)
from service.browser_keys import KeyLinkExchange, redact_access_log
from service.config import Settings, get_settings
from service.db import get_engine, session_factory
from service.errors import install_error_handlers
from service.jobs import JobRunner, recover_jobs
from service.read_cache import ReadCache

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"

DESCRIPTION = """
Bundled infrastructure maintenance across municipalities (群マネ): scenarios, asset uploads,
planning jobs (regions, routes, calendar, effects, cost shares), contractors' daily routes
and OGC API - Features for the towns' GIS.

Authenticate with the header `X-API-Key: <key>` (roles: admin, planner, contractor, gis).
"""

# Routers of the maps/pages/patrol-log modules, included when those modules are present:
# (module under service.api, mounted under the API prefix?).
OPTIONAL_ROUTERS: tuple[tuple[str, bool], ...] = (
    ("maps", True),
    ("patrol_logs", True),
    ("patrol_days", True),
    ("pages", False),
    ("patrol_day_pages", False),
    ("workbench", True),
    ("workbench_pages", False),
    ("report_pages", False),
    ("scenario_pages", False),
)


def _operation_id(route: APIRoute) -> str:
    """Operation ids `{tag}-{name}`, stable for generated clients."""
    tag = str(route.tags[0]) if route.tags else "default"
    return f"{tag}-{route.name}"


def create_app(
    settings: Settings | None = None, *, jobs_runner: JobRunner | None = None
) -> FastAPI:
    """Build the app; `jobs_runner` lets tests share one Dask cluster across apps."""
    settings = settings or get_settings()
    owns_runner = jobs_runner is None
    runner = jobs_runner or JobRunner(settings)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if settings.RECOVER_JOBS_ON_STARTUP:
            recover_jobs(settings.DATABASE_URL)
        yield
        if owns_runner:
            runner.close()

    app = FastAPI(
        title="gunmane",
        summary="群マネ: bundled maintenance planning across municipalities",
        description=DESCRIPTION,
        version="0.1.0",
        generate_unique_id_function=_operation_id,
        lifespan=lifespan,
        docs_url="/docs",
        openapi_url="/openapi.json",
    )
    app.state.settings = settings
    app.state.session_factory = session_factory(get_engine(settings.DATABASE_URL))
    app.state.jobs = runner
    install_error_handlers(app)

    prefix = settings.API_PREFIX
    routers = (scenarios, boundaries, uploads, depots, network, planning_settings, plans, patrols)
    for module in (*routers, jobs, keys):
        app.include_router(module.router, prefix=prefix)
    app.include_router(ogc.router, prefix=settings.OGC_PREFIX)
    # Whole responses of the heavy reads, per caller scope and data version (see read_cache).
    app.add_middleware(
        ReadCache,
        engine=get_engine(settings.DATABASE_URL),
        exact_paths=(f"{prefix}/patrols", f"{prefix}/patrols/routes.geojson"),
        path_prefixes=(f"{settings.OGC_PREFIX}/collections",),
        max_bytes=int(settings.READ_CACHE_MB * 2**20),
    )
    # Pages, GeoJSON and the vendored scripts compress well (a map page ~10x).
    app.add_middleware(GZipMiddleware, minimum_size=1000)
    # Outermost: a browser's `?key=` link becomes the session cookie before anything else runs.
    app.add_middleware(KeyLinkExchange)
    # Leaflet and Leaflet.draw served by the service itself: pages work on a closed network.
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    redact_access_log()
    for name, under_prefix in OPTIONAL_ROUTERS:
        module_name = f"{_package}.api.{name}"
        if importlib.util.find_spec(module_name) is None:
            continue
        router = importlib.import_module(module_name).router
        app.include_router(router, prefix=prefix if under_prefix else "")
    return app
