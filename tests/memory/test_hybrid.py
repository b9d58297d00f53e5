"""Hybrid ranking: a mask leaves documents out of the result without changing how the others score."""

from __future__ import annotations

import numpy as np

from memory.hybrid import HybridIndex

TEXTS = ["gate closed", "gate open", "vault code 4172", "gate closed again"]


def test_a_mask_leaves_documents_out_and_keeps_the_scores_of_the_rest() -> None:
    index = HybridIndex(TEXTS, None)
    full = index.rank("gate closed", None, k=4)
    masked = index.rank("gate closed", None, k=4, mask=np.array([False, True, True, True]))
    assert [r.position for r in masked] == [r.position for r in full if r.position != 0]
    assert {r.position: r.score for r in masked} == {r.position: r.score for r in full if r.position != 0}
    assert index.rank("gate", None, k=1, visible=2, mask=np.array([False, False, True, True])) == []
