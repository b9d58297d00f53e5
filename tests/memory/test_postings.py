"""BM25 postings built in chunks score every document as bm25s does over the whole corpus at once."""

from __future__ import annotations

from pathlib import Path

import bm25s
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from memory.postings import Postings, PostingsBuilder

WORDS = ["van", "red", "gate", "b7", "vault", "4172", "code", "closed", "budget", "talk", "river", "bridge"]
documents = st.lists(st.lists(st.sampled_from(WORDS), min_size=1, max_size=12), min_size=1, max_size=40)


@given(documents, st.lists(st.sampled_from([*WORDS, "absent"]), min_size=1, max_size=4), st.integers(1, 7))
def test_scores_equal_bm25s_whatever_the_chunks(tmp_path_factory, corpus, query, chunk):
    builder = PostingsBuilder()
    for start in range(0, len(corpus), chunk):
        builder.add(corpus[start : start + chunk])
    postings = builder.finish(tmp_path_factory.mktemp("postings"))
    reference = bm25s.BM25()
    reference.index(corpus, show_progress=False)
    expected = reference.get_scores(sorted(set(query)))
    assert np.allclose(postings.scores(query), expected, atol=1e-5)


def test_postings_reopen_memory_mapped_with_the_same_scores(tmp_path: Path):
    builder = PostingsBuilder()
    builder.add([["red", "van"], ["gate", "b7", "closed"], []])
    built = builder.finish(tmp_path)
    again = Postings.load(tmp_path)
    assert isinstance(again.weights, np.memmap) and again.count == 3
    assert np.array_equal(again.scores(["gate", "van"]), built.scores(["gate", "van"]))
    assert not again.scores(["nothing"]).any() and len(again.scores(["nothing"])) == 3
