"""The Jinja environment of the page templates (``service/templates``), without folium."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape


@cache
def page_environment() -> Environment:
    """The one environment every page and error page is rendered with."""
    return Environment(
        loader=PackageLoader("service", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_template(name: str, **context: Any) -> str:
    """Render one of the page templates in ``service/templates``."""
    return page_environment().get_template(name).render(**context)
