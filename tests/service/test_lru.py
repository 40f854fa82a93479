"""service.lru: values made once per key, the least recently used dropped past the size."""

from __future__ import annotations

from service.lru import LruCache


def test_made_once_and_least_recently_used_dropped() -> None:
    made: list[str] = []

    def make(key: str) -> str:
        made.append(key)
        return key.upper()

    cache: LruCache[str, str] = LruCache(2)
    assert cache.get_or_make("a", lambda: make("a")) == "A"
    assert cache.get_or_make("b", lambda: make("b")) == "B"
    assert cache.get_or_make("a", lambda: make("a")) == "A"  # a hit: "a" is now the newest
    assert made == ["a", "b"]
    cache.get_or_make("c", lambda: make("c"))  # drops "b", the least recently used
    assert len(cache) == 2
    assert cache.get_or_make("a", lambda: make("a")) == "A"
    assert cache.get_or_make("b", lambda: make("b")) == "B"
    assert made == ["a", "b", "c", "b"]
