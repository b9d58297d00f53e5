"""The pair measurements' own arithmetic: the median every pair takes twice is numpy's, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from perception.motion.pairs import changed_mask, median_of_scratch


@pytest.mark.parametrize("length", [1, 2, 3, 4, 101, 3600, 3601])
def test_the_median_is_numpys_to_the_bit(length):
    rng = np.random.default_rng(length)
    for scale in (5.0, 0.001):
        values = (rng.normal(0, scale, length)).astype(np.float32)
        scratch = values.copy()
        assert median_of_scratch(scratch) == float(np.median(values))
        assert sorted(scratch) == sorted(values)  # reordered in place, nothing lost


def test_a_change_smaller_than_the_smallest_region_leaves_no_mask_and_a_larger_one_its_opened_pixels():
    deviations = np.zeros((90, 160), np.float32)
    deviations[10:15, 10:15] = 9.0  # 25 pixels: fewer than 0.2% of the frame
    assert changed_mask(deviations, 1.0, 0.002) is None
    deviations[40:46, 80:86] = 9.0  # 36 pixels, 32 once opened (its corners go)
    mask = changed_mask(deviations, 1.0, 0.002)
    assert mask is not None and int(mask.sum()) == 32 and not mask[10:15, 10:15].any()
