"""The pair measurements' own arithmetic: the median every pair takes twice is numpy's, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from perception.motion.pairs import median


@pytest.mark.parametrize("length", [1, 2, 3, 4, 101, 3600, 3601])
def test_the_median_is_numpys_to_the_bit(length):
    rng = np.random.default_rng(length)
    for scale in (5.0, 0.001):
        values = (rng.normal(0, scale, length)).astype(np.float32)
        kept = values.copy()
        assert median(values) == float(np.median(values))
        assert np.array_equal(values, kept)  # the caller's array is left as it was
