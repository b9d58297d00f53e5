"""The camera fit's gate: a pair whose corners mostly held still is not fitted (people moving
before a still camera), and a pair the camera moved in still is (its corners all changed)."""

from __future__ import annotations

import numpy as np
import pytest

from perception.motion import MotionSettings
from perception.motion.camera import corners_of, fit_camera, held_still
from perception.motion.pairs import Frame, changed_mask, deviation, noise_sigma, prepare
from tests.motion_media import COLOURS, Mover, camera, scene, texture

SIZE = (448, 252)
SETTINGS = MotionSettings()


def prepared_pair(frames: np.ndarray) -> tuple[Frame, Frame, np.ndarray, float]:
    """The last two of three frames at working size, their deviations, and the change threshold the noise
    sets: the first two frames show the same view, so they measure the noise alone, as a span's floor does."""
    still, earlier, later = (prepare(frame, float(i), SETTINGS.width) for i, frame in enumerate(frames))
    return earlier, later, deviation(earlier, later), SETTINGS.noise_sigmas * noise_sigma(deviation(still, earlier))


def test_people_moving_all_over_before_a_still_camera_spare_the_fit():
    crowd = [
        Mover(colour, (x, y), (0.04, 0.01), radius=0.05)
        for colour, (x, y) in zip(COLOURS.values(), [(0.15, 0.25), (0.8, 0.2), (0.45, 0.5), (0.2, 0.8), (0.75, 0.75)])
    ]
    frames = scene(texture(*SIZE, seed=3, contrast=60), crowd, [0.0, 0.0, 1.0], noise=2.0, seed=3)
    earlier, later, deviations, threshold = prepared_pair(frames)
    changed = changed_mask(deviations, threshold, SETTINGS.min_region)
    assert changed is not None and changed.mean() < 0.5  # the movers changed parts of the frame, the wall did not
    assert held_still(corners_of(earlier.grey), deviations <= threshold)
    assert fit_camera(earlier.grey, later.grey, deviations <= threshold) is None


@pytest.mark.parametrize(("pan", "tilt"), [(0.03, 0.0), (0.0, -0.03), (0.01, 0.0)])
def test_a_camera_that_moves_is_still_fitted(pan, tilt):
    frames = camera(texture(1600, 1000, seed=6, contrast=80), SIZE, [0.0, 0.0, 1.0], pan=pan, tilt=tilt, noise=2.0)
    earlier, later, deviations, threshold = prepared_pair(frames)
    assert not held_still(corners_of(earlier.grey), deviations <= threshold)
    step = fit_camera(earlier.grey, later.grey, deviations <= threshold)
    assert step is not None
    # Content moves against the camera: a pan right moves it left, a tilt down moves it up.
    assert step.dx == pytest.approx(-pan * SETTINGS.width, abs=0.5)
    assert step.dy == pytest.approx(tilt * SETTINGS.width, abs=0.5)
