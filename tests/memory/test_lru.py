"""The shared LRU: evicts the least recently used, by count or by size, keeps None as a value, and
stays within its bound when many threads use it at once."""

import threading

from memory.lru import LruCache


def test_the_least_recently_used_entry_goes_first_and_a_read_counts_as_use():
    cache: LruCache[str, int] = LruCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1  # now "b" is the oldest
    cache.put("c", 3)
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (1, None, 3)
    assert len(cache) == cache.currsize == 2


def test_get_or_load_keeps_none_and_loads_a_key_once():
    cache: LruCache[int, str | None] = LruCache(4)
    calls: list[int] = []

    def load(key: int) -> str | None:
        calls.append(key)
        return None if key == 0 else str(key)

    assert [cache.get_or_load(k, lambda k=k: load(k)) for k in (0, 1, 0, 1, 0)] == [None, "1", None, "1", None]
    assert calls == [0, 1]


def test_a_size_bound_counts_the_values_and_refuses_one_too_large():
    cache: LruCache[str, bytes] = LruCache(10, getsizeof=len)
    assert cache.put("a", b"1234") and cache.put("b", b"1234")
    assert cache.put("c", b"1234")  # 12 > 10: "a" goes
    assert cache.get("a") is None and cache.currsize == 8
    cache.put("b", b"12")  # a smaller value replaces, and its size counts instead
    assert cache.currsize == 6
    assert not cache.put("b", b"x" * 11)  # larger than the whole bound: not kept, and the old "b" is gone too
    assert cache.get("b") is None and cache.currsize == 4


def test_remove_if_drops_exactly_the_chosen_keys():
    cache: LruCache[tuple[str, int], int] = LruCache(10)
    for owner in "ab":
        for index in range(3):
            cache.put((owner, index), index)
    cache.remove_if(lambda key: key[0] == "a" and key[1] >= 1)
    kept = [(owner, index) for owner in "ab" for index in range(3) if cache.get((owner, index)) is not None]
    assert kept == [("a", 0), ("b", 0), ("b", 1), ("b", 2)]


def test_many_threads_keep_it_within_its_bound_and_consistent():
    cache: LruCache[int, bytes] = LruCache(64, getsizeof=len)
    errors: list[str] = []

    def work(seed: int) -> None:
        for step in range(2000):
            key = (seed * 7 + step) % 40
            value = cache.get_or_load(key, lambda key=key: bytes([key % 256]) * (1 + key % 5))
            if value != bytes([key % 256]) * (1 + key % 5):
                errors.append(f"key {key} gave {value!r}")
            if step % 97 == 0:
                cache.remove_if(lambda k, seed=seed: k % 8 == seed)
            if cache.currsize > cache.maxsize:
                errors.append(f"{cache.currsize} > {cache.maxsize}")

    threads = [threading.Thread(target=work, args=(seed,)) for seed in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert cache.currsize == sum(1 + key % 5 for key in range(40) if cache.get(key) is not None)
