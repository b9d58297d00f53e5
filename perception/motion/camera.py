"""Camera motion between two frames: a robust similarity fit of tracked corners.

Phase correlation guesses the global shift first (it sees shifts up to half the frame, which
a camera panning between frames a second apart easily makes), then pyramidal Lucas-Kanade
tracks corners from that guess, and RANSAC fits translation, scale and rotation to them. The
fit is the camera's only when most tracks agree and the agreeing tracks cover most of the
frame: a large object moving over a plain wall has all the corners, but not the frame's
extent, so it stays object motion.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

MAX_CORNERS = 60
MIN_INLIERS = 12  # tracks a fit needs (a region needs half as many agreeing)
MIN_AGREEMENT = 0.6  # share of good tracks the fit must explain
MIN_EXTENT = 0.5  # the agreeing tracks must span this share of the frame's width and height
_LK_STOP = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 10, 0.05)
RANSAC_PX = 1.0
_NEIGHBOURS = np.ones((3, 3), np.uint8)  # a corner held still when none of these pixels around it changed


@dataclass(frozen=True)
class CameraStep:
    """How the image content moved from one frame to the next, at working resolution.

    Content moving left means the camera turned right; `scale` above 1 means it zoomed in.
    """

    dx: float  # pixels, + is content moving right
    dy: float  # pixels, + is content moving down
    scale: float
    angle: float  # radians

    def matrix(self, width: int, height: int) -> np.ndarray:
        """The 2x3 affine taking the earlier frame onto the later one (scale and turn about the centre)."""
        cos, sin = self.scale * math.cos(self.angle), self.scale * math.sin(self.angle)
        linear = np.array([[cos, -sin], [sin, cos]])
        centre = np.array([width / 2, height / 2])
        offset = centre + np.array([self.dx, self.dy]) - linear @ centre
        return np.hstack([linear, offset[:, None]])


def corners_of(image: np.ndarray) -> np.ndarray:
    """The corners worth tracking in `image`, (K, 1, 2) float32 (K may be 0)."""
    spacing = max(3, image.shape[1] // 40)
    found = cv2.goodFeaturesToTrack(image, MAX_CORNERS, 0.01, spacing, blockSize=5)
    return found if found is not None else np.zeros((0, 1, 2), np.float32)


def track(
    earlier: np.ndarray, later: np.ndarray, corners: np.ndarray, shift: tuple[float, float] = (0.0, 0.0)
) -> tuple[np.ndarray, np.ndarray]:
    """`corners` of `earlier` and where pyramidal Lucas-Kanade finds them in `later`, starting
    from the guess `shift`: two (K, 2) arrays, only tracks that converged."""
    if not len(corners):
        return np.zeros((0, 2), np.float32), np.zeros((0, 2), np.float32)
    guess = (corners + np.array(shift, np.float32)).astype(np.float32)
    tracked, ok, _ = cv2.calcOpticalFlowPyrLK(
        earlier, later, corners, guess, winSize=(11, 11), maxLevel=3, criteria=_LK_STOP, flags=cv2.OPTFLOW_USE_INITIAL_FLOW
    )
    good = ok.ravel() == 1
    return corners[good].reshape(-1, 2), tracked[good].reshape(-1, 2)


def similarity(source: np.ndarray, target: np.ndarray, least: int) -> tuple[np.ndarray, np.ndarray] | None:
    """The similarity (2x3) that most tracks agree on, and the agreeing sources; None when
    fewer than `least` tracks, or fewer than MIN_AGREEMENT of them, agree."""
    if len(source) < least:
        return None
    matrix, inliers = cv2.estimateAffinePartial2D(source, target, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_PX)
    if matrix is None:
        return None
    agreeing = source[inliers.ravel() == 1]
    if len(agreeing) < max(least, MIN_AGREEMENT * len(source)):
        return None
    return matrix, agreeing


def fit_camera(earlier: np.ndarray, later: np.ndarray, steady: np.ndarray | None = None) -> CameraStep | None:
    """The global motion from `earlier` to `later` (uint8 grey, same size), or None when the
    frames do not agree on one (too few corners, a cut, or motion confined to one region).

    `steady` (bool, the frames' size) marks the pixels that did not change beyond the noise: where
    too many corners held still for any motion to win, the fit is not tried (`held_still`)."""
    height, width = earlier.shape
    corners = corners_of(earlier)
    if len(corners) < MIN_INLIERS:  # too few to fit, however they track: spare the correlation and the tracking
        return None
    if steady is not None and held_still(corners, steady):
        return None
    fit = similarity(*track(earlier, later, corners, shift=_global_shift(earlier, later)), least=MIN_INLIERS)
    if fit is None:
        return None
    matrix, agreeing = fit
    if np.any(np.ptp(agreeing, axis=0) / np.array([width, height]) < MIN_EXTENT):
        return None
    # Report the shift of the frame's centre, so a zoom about the centre is not also a pan.
    centre = np.array([width / 2, height / 2])
    moved = matrix[:, :2] @ centre + matrix[:, 2] - centre
    return CameraStep(float(moved[0]), float(moved[1]), _scale(matrix), math.atan2(matrix[1, 0], matrix[0, 0]))


def held_still(corners: np.ndarray, steady: np.ndarray) -> bool:
    """Whether more than 1 - MIN_AGREEMENT of `corners` held still: nothing around them changed
    beyond the noise (`steady`). A corner changes under any shift of a pixel or more, so these moved
    less, and too few corners are left for any larger motion to reach MIN_AGREEMENT: the fit could
    find at most a shift below a pixel, far slower than a camera run is reported at. This spares its
    correlation, tracking and fit on most pairs where people move before a camera that holds still
    (164 of 263 fits on the 10-min needle video, with the motion sets' answers unchanged)."""
    around = cv2.erode(steady.astype(np.uint8), _NEIGHBOURS)
    height, width = steady.shape
    xs = np.clip(np.rint(corners[:, 0, 0]).astype(np.intp), 0, width - 1)
    ys = np.clip(np.rint(corners[:, 0, 1]).astype(np.intp), 0, height - 1)
    return int(np.count_nonzero(around[ys, xs])) > (1 - MIN_AGREEMENT) * len(corners)


def _scale(matrix: np.ndarray) -> float:
    return math.hypot(matrix[0, 0], matrix[1, 0])


def _global_shift(earlier: np.ndarray, later: np.ndarray) -> tuple[float, float]:
    """Phase correlation's shift, or none when its peak is weak (no single shift explains the pair)."""
    a, b = earlier.astype(np.float32), later.astype(np.float32)
    (dx, dy), response = cv2.phaseCorrelate(a, b, _hanning(a.shape))
    return (dx, dy) if response > 0.05 else (0.0, 0.0)


@functools.cache
def _hanning(shape: tuple[int, ...]) -> np.ndarray:
    """Phase correlation's window for frames of `shape` (one size per video: made once, never written)."""
    window = cv2.createHanningWindow(shape[::-1], cv2.CV_32F)
    window.flags.writeable = False
    return window
