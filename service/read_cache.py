"""Read cache: whole responses of route lists and OGC reads, per caller scope and data version."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service import crud
from service.auth import key_from_headers

logger = logging.getLogger(__name__)

_VERSION_SQL = text("SELECT version FROM data_version WHERE id = 1")
# (role, regions) of a key: the whole of what the cached reads depend on about the caller.
KeyScope = tuple[str, tuple[int, ...]]
CacheKey = tuple[str, ...]


@dataclass(frozen=True)
class _Entry:
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: bytes


@dataclass(frozen=True)
class _KeyEntry:
    scope: KeyScope
    version: int
    at: float


_VERSION_ENGINES: dict[str, Engine] = {}


def _version_engine(engine: Engine) -> Engine:
    """An engine for the version reads: autocommit, no pre-ping (a round trip per checkout)."""
    if engine.dialect.name == "sqlite":
        return engine  # no pre-ping there; each connection is local
    name = engine.url.render_as_string(hide_password=False)
    found = _VERSION_ENGINES.get(name)
    if found is None:
        found = _VERSION_ENGINES[name] = create_engine(
            engine.url, pool_size=2, max_overflow=8, isolation_level="AUTOCOMMIT"
        )
    return found


class VersionReader:
    """Reads the data version (bumped by triggers on every write the reads see)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = _version_engine(engine)
        self.warned = False

    def read(self) -> int | None:
        """The current version; None when unknown (no table yet, or the database is down)."""
        for attempt in (1, 2):
            try:
                # A pooled connection that died is invalidated on the error; retry once.
                with self.engine.connect() as conn:
                    value = conn.execute(_VERSION_SQL).scalar()
            except SQLAlchemyError as error:
                if attempt == 2:
                    # Once: an unmigrated database would otherwise log on every read.
                    if not self.warned:
                        self.warned = True
                        logger.warning("data_version unreadable (%s); cache bypassed", error)
                    return None
                continue
            return None if value is None else int(value)
        return None


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def api_key_of(scope: Scope) -> str | None:
    """The key from `X-API-Key` or `Authorization: Bearer`, as service.deps reads it."""
    return key_from_headers(_header(scope, b"x-api-key"), _header(scope, b"authorization"))


def etag_matches(if_none_match: str | None, etag: bytes) -> bool:
    """True when an `If-None-Match` header names `etag` (weak or strong) or is `*`."""
    if not if_none_match:
        return False
    wanted = etag.decode()
    for raw in if_none_match.split(","):
        tag = raw.strip()
        if tag == "*" or tag.removeprefix("W/") == wanted:
            return True
    return False


class ReadCache:
    """ASGI middleware serving cached 200 responses of GETs under the given paths.

    An entry is keyed on the path, the query (parameters sorted by name), the headers that
    shape the body (host, accept), the caller's role and regions, and the data version. Every
    write to the watched tables bumps the version in its own transaction (migration
    0003_data_version), so an entry is never served after the data it was built from changed,
    whichever process wrote. API keys are resolved here too (key hash -> role and regions),
    reused while the version is unchanged and for at most `key_ttl` seconds. Responses carry an
    ETag; `If-None-Match` gets a 304.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        engine: Engine,
        exact_paths: tuple[str, ...],
        path_prefixes: tuple[str, ...],
        max_bytes: int = 64 * 2**20,
        max_entry_bytes: int = 8 * 2**20,
        key_ttl: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.engine = engine
        self.sessions = sessionmaker(bind=engine)
        self.version = VersionReader(engine)
        self._next_read: asyncio.Future[int | None] | None = None
        self._read_lock = asyncio.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.exact_paths = frozenset(exact_paths)
        self.path_prefixes = path_prefixes
        self.max_bytes = max_bytes
        self.max_entry_bytes = max_entry_bytes
        self.key_ttl = key_ttl
        self.clock = clock
        self.entries: OrderedDict[CacheKey, _Entry] = OrderedDict()
        self.size = 0
        self.keys: dict[str, _KeyEntry] = {}
        self.hits = 0
        self.misses = 0
        self._seen_version: int | None = None

    def _cacheable(self, scope: Scope) -> bool:
        if scope["type"] != "http" or scope["method"] != "GET":
            return False
        path: str = scope["path"]
        return path in self.exact_paths or path.startswith(self.path_prefixes)

    async def _read_version(self) -> int | None:
        if self.version.engine.dialect.name == "sqlite":
            # A local read of a one-row table: cheaper than a thread hop.
            return self.version.read()
        # A server round trip: requests that arrive while one read runs share the next one
        # (it starts after they arrived, so a write they saw committed is seen), one at a time
        # in a thread. Without this, 50 clients queue 50 reads for a few pooled connections.
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # an app served by a new loop (test clients)
            self._loop, self._next_read, self._read_lock = loop, None, asyncio.Lock()
        round_ = self._next_read
        if round_ is None:
            round_ = self._next_read = loop.create_future()
            task = loop.create_task(self._run_read(round_))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return await asyncio.shield(round_)

    async def _run_read(self, round_: asyncio.Future[int | None]) -> None:
        async with self._read_lock:
            if self._next_read is round_:
                self._next_read = None  # later arrivals form the next round
            try:
                round_.set_result(await run_in_threadpool(self.version.read))
            except Exception as error:  # handed to the waiting requests
                round_.set_exception(error)

    def _key_scope(self, key: str, version: int) -> KeyScope | None:
        digest = hashlib.sha256(key.encode()).hexdigest()
        cached = self.keys.get(digest)
        now = self.clock()
        if cached is not None and cached.version == version and now - cached.at < self.key_ttl:
            return cached.scope
        session: Session = self.sessions()
        try:
            row = crud.find_api_key(session=session, key=key)
            found = (
                None if row is None else (row.role, tuple(sorted(int(r) for r in row.region_ids)))
            )
        finally:
            session.close()
        if found is None:
            self.keys.pop(digest, None)
            return None
        if len(self.keys) > 10_000:
            self.keys.clear()
        self.keys[digest] = _KeyEntry(found, version, now)
        return found

    def clear(self) -> None:
        """Forget every response and key."""
        self.entries.clear()
        self.keys.clear()
        self.size = 0

    def _store(self, key: CacheKey, entry: _Entry) -> None:
        old = self.entries.pop(key, None)
        if old is not None:
            self.size -= len(old.body)
        self.entries[key] = entry
        self.size += len(entry.body)
        while self.size > self.max_bytes and self.entries:
            _, dropped = self.entries.popitem(last=False)
            self.size -= len(dropped.body)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve from the cache, or call the app and keep its 200 response."""
        if not self._cacheable(scope):
            await self.app(scope, receive, send)
            return
        api_key = api_key_of(scope)
        version = None if api_key is None else await self._read_version()
        if version is not None and version != self._seen_version:
            # Entries of earlier versions can never be served again: free them now.
            self.entries.clear()
            self.size = 0
            self._seen_version = version
        caller = None
        if api_key is not None and version is not None:
            try:
                caller = self._key_scope(api_key, version)
            except SQLAlchemyError:
                logger.warning("API key lookup failed; the read cache is bypassed", exc_info=True)
        if caller is None or version is None:
            if api_key is not None and version is None:
                self.clear()
            await self.app(scope, receive, send)
            return
        query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        # Re-encoded: a decoded "&" or "=" in a value cannot pass for another parameter.
        normalized = urlencode(sorted(query, key=lambda kv: kv[0]))
        role, regions = caller
        key: CacheKey = (
            scope["path"],
            normalized,
            scope.get("scheme", "http"),
            scope.get("root_path", ""),
            _header(scope, b"host") or "",
            _header(scope, b"accept") or "",
            role,
            ",".join(map(str, regions)),
            str(version),
        )
        entry = self.entries.get(key)
        if entry is not None:
            self.hits += 1
            self.entries.move_to_end(key)
            await self._send(entry, _header(scope, b"if-none-match"), send)
            return
        self.misses += 1
        await self._fill(key, scope, receive, send)

    async def _fill(self, key: CacheKey, scope: Scope, receive: Receive, send: Send) -> None:
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                if message["status"] != 200:
                    await send(message)
                return
            if message["type"] != "http.response.body" or start.get("status") != 200:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                body = b"".join(chunks)
                headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"etag"]
                tag = hashlib.blake2b(body, digest_size=16).hexdigest()
                entry = _Entry(headers, body, f'"{tag}"'.encode())
                if len(body) <= self.max_entry_bytes:
                    self._store(key, entry)
                await self._send(entry, _header(scope, b"if-none-match"), send)

        await self.app(scope, receive, capture)

    @staticmethod
    async def _send(entry: _Entry, if_none_match: str | None, send: Send) -> None:
        extra = [
            (b"etag", entry.etag),
            (b"cache-control", b"private, no-cache"),
            (b"vary", b"X-API-Key, Authorization"),
        ]
        if etag_matches(if_none_match, entry.etag):
            await send({"type": "http.response.start", "status": 304, "headers": extra})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": 200, "headers": entry.headers + extra})
        await send({"type": "http.response.body", "body": entry.body})
