# gunmane: API, pages and OGC API - Features with the demo (four Liechtenstein towns) by default.
#   docker build -t gunmane .
#   docker run --rm -p 8000:8000 -v gunmane-data:/data gunmane
# Scaled setup (PostGIS, Dask scheduler and worker): see compose.yaml and README "Docker".
# Without Docker Hub, any Debian-based image whose `python` is 3.11+ with venv can be the base
# (e.g. a debootstrap bookworm with python3-venv and python-is-python3, `docker import`ed):
#   docker build --build-arg BASE_IMAGE=local/bookworm-python:3.11 -t gunmane .

ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# Compilers only in this stage, for any dependency without a wheel for the platform.
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# Dependencies first: this layer is reused while only the code changes (and the README: an empty
# one stands in, pyproject.toml names it as the readme).
COPY pyproject.toml ./
RUN mkdir -p service gis_data optimizer bench \
    && touch README.md service/__init__.py gis_data/__init__.py optimizer/__init__.py bench/__init__.py \
    && pip install . \
    && pip uninstall -y gunmane
COPY README.md README.md
COPY service service
COPY gis_data gis_data
COPY optimizer optimizer
COPY bench bench
RUN pip install --no-deps . \
    && python -c "import service.main, gis_data.loading.load, optimizer.arc_routing"

FROM ${BASE_IMAGE} AS runtime
# libexpat1: XML parsing for the OSM reader; fonts-ipafont-gothic: the Japanese text of the
# report's figures (map, scheme diagram in the Word file; without it they fall back to English
# labels and tables); everything else ships inside the wheels. The apt caches go too:
# python:3.11-slim drops them itself, a plain Debian base (BASE_IMAGE) does not.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libexpat1 fonts-ipafont-gothic \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin \
    && useradd --create-home --uid 10001 --shell /usr/sbin/nologin gunmane \
    && mkdir -p /data \
    && chown gunmane:gunmane /data
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    DATABASE_URL=sqlite:////data/gunmane.sqlite \
    DATA_DIR=/data/uploads \
    MPLCONFIGDIR=/tmp/matplotlib
WORKDIR /data
USER gunmane
EXPOSE 8000
VOLUME ["/data"]
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/ogc/?f=json', timeout=4)"]
# `gunmane demo` migrates the database, stores and plans the demo once (kept in /data), prints
# the API keys and serves with uvicorn. Use `gunmane serve --host 0.0.0.0` for an empty service.
CMD ["gunmane", "demo", "--host", "0.0.0.0", "--port", "8000"]
