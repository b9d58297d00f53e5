"""What changed between two sampled frames: the camera's motion, then the moving region left
once the camera's motion is taken out.

A pixel has changed when its difference exceeds a multiple of the noise floor, after the
pair's global brightness shift is removed. Speckle is opened away and regions smaller than `min_region`
of the frame dropped, so sensor noise alone leaves nothing. A pair whose frames differ almost
everywhere with no camera motion to explain it is a cut, which is neither activity nor
stillness.

The changed pixels of a pair are the region at both moments (where the object is now and
where it was), so the region's centre sits between its two positions: successive pairs' centres
move as the object does, which is all direction and speed need.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import cv2
import numpy as np

from perception.motion.camera import CameraStep, fit_camera
from perception.motion.colour import colour_excess, palette_indices
from perception.motion.settings import MotionSettings

MAD_TO_SIGMA = 1.4826  # the median absolute deviation of Gaussian noise, in standard deviations
QUANTISATION_SIGMA = 0.5  # grey levels: the floor of any noise estimate on 8-bit frames
CAMERA_CELLS = 8  # of 16: how far a pair's changes must spread before the camera is suspected
NO_SHIFT_PX = 0.25  # a camera fit moving no pixel by more than this is left uncompensated
EXPOSURE_KEEP = 0.75  # share of pixels the exposure fit keeps (more than this may move)
MAX_GAIN = 1.5  # exposure changes between two frames stay within this factor
_OPEN = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
_RING = cv2.getStructuringElement(cv2.MORPH_RECT, (9, 9))
_SMALL_LABELS = 5 * 2**16  # pixels: a mask smaller has fewer than 2**16 opened regions (see _components)
_BLUR = cv2.getGaussianKernel(3, 0, cv2.CV_32F)  # what GaussianBlur((3, 3), 0) filters rows and columns with


@dataclass(frozen=True)
class Frame:
    """One sampled frame at working resolution."""

    time: float
    rgb: np.ndarray  # (h, w, 3) uint8
    grey: np.ndarray  # (h, w) uint8, for corner tracking
    smooth: np.ndarray  # (h, w) float32, lightly blurred grey, for differences

    @functools.cached_property
    def sparse(self) -> np.ndarray:
        """Every third pixel of every third row of `smooth`, flat: what a pair's brightness shift is measured on
        (its median, robust to what moves, needs no more), taken once for the two pairs a frame is in."""
        return self.smooth[::3, ::3].ravel()

    @functools.cached_property
    def colour_names(self) -> np.ndarray:
        """The PALETTE index of every other pixel of every other row, for naming what moved: made
        when a pair first asks, so still frames never pay for it, and once for both pairs a frame is in."""
        return palette_indices(self.rgb[::2, ::2])


def shrink(frame: np.ndarray, width: int) -> np.ndarray:
    """`frame` (RGB uint8) scaled down to `width` pixels across (never up): halved by area
    averaging while it is twice as wide (fast for whole factors), then interpolated. A frame
    already `width` across is returned as it is, so shrinking twice changes nothing."""
    while frame.shape[1] >= 2 * width:
        half = (frame.shape[1] // 2, max(1, frame.shape[0] // 2))
        frame = cv2.resize(frame, half, interpolation=cv2.INTER_AREA)
    height, full_width = frame.shape[:2]
    if full_width > width:
        frame = cv2.resize(frame, (width, max(1, round(height * width / full_width))), interpolation=cv2.INTER_LINEAR)
    return frame


def prepare(frame: np.ndarray, time: float, width: int) -> Frame:
    """`frame` (RGB uint8) at working resolution (see `shrink`), with its grey and smoothed grey."""
    rgb = np.ascontiguousarray(shrink(frame, width))
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    # A 3x3 Gaussian blur in float straight from the grey bytes: GaussianBlur's kernel, with no float copy to blur.
    smooth = cv2.sepFilter2D(grey, cv2.CV_32F, _BLUR, _BLUR)
    return Frame(float(time), rgb, grey, smooth)


def deviation(earlier: Frame, later: Frame, exposure: bool = False) -> np.ndarray:
    """|later - earlier| once the global brightness shift is taken out (auto exposure, or an
    encoder's keyframe pumping a still scene, is not activity). With `exposure`, the gain too:
    frames far apart may differ in exposure by a factor, neighbours hardly do, and a gain fit
    on a pair where a person fills half the frame would bend it."""
    a, b = earlier.sparse, later.sparse
    if not exposure:
        expected = earlier.smooth + median_of_scratch(b - a)
    else:
        gain, offset = _exposure(a, b)
        expected = gain * earlier.smooth
        expected += offset
    return np.abs(np.subtract(later.smooth, expected, out=expected), out=expected)


def _exposure(earlier: np.ndarray, later: np.ndarray) -> tuple[float, float]:
    """later ≈ gain * earlier + offset over the pixels that did not change: least squares, then
    again over the EXPOSURE_KEEP share of pixels that fit best (what moved fits worst)."""
    keep = np.ones(len(earlier), bool)
    shift = median_of_scratch(later - earlier)
    gain, offset = 1.0, shift
    for _ in range(2):
        x, y = earlier[keep], later[keep]
        spread = float(x.var())
        if spread < 1.0:  # a flat frame says nothing about gain
            return 1.0, shift
        gain = min(max(float(((x - x.mean()) * (y - y.mean())).mean()) / spread, 1 / MAX_GAIN), MAX_GAIN)
        offset = float(y.mean() - gain * x.mean())
        residual = np.abs(later - (gain * earlier + offset))
        keep = residual <= np.quantile(residual, EXPOSURE_KEEP)
    return gain, offset


def noise_sigma(deviations: np.ndarray) -> float:
    """The noise of one pair's deviations, robust to less than half the frame moving, estimated on a
    ninth of the pixels (every third of every third row: about 1,600 at 160 px across). On the needle hour, the
    spans' floors equal those a quarter of the pixels gave in most spans and are within 15% in all, for 12%
    less of the analyser's CPU."""
    sample = deviations[::3, ::3] if deviations.ndim == 2 else deviations[::9]
    return max(QUANTISATION_SIGMA, MAD_TO_SIGMA * median_of_scratch(sample.flatten()))


def median_of_scratch(values: np.ndarray) -> float:
    """`np.median` of a 1-D array made for the call, bit for bit, without its checks and copies: it is
    partitioned in place (every pair takes two medians, and a copy costs as much as the partition)."""
    half = len(values) // 2
    if len(values) % 2:
        values.partition(half)
        return float(values[half])
    values.partition((half - 1, half))
    return float((values[half - 1] + values[half]) / 2)  # np.mean's sum and division in the array's type, with no call


@dataclass(frozen=True)
class Region:
    """The pixels that moved in one pair, in the later frame's coordinates (0-1 of the frame)."""

    x: float  # centre, share of the width
    y: float  # centre, share of the height
    size: float  # square root of the area, in frame widths
    share: float  # of the frame's pixels
    box: tuple[float, float, float, float]  # x0, y0, x1, y1
    edges: tuple[str, ...]  # frame edges the region touches
    colour: tuple[float, ...]  # pixels per PALETTE name beyond the surroundings' share


@dataclass(frozen=True)
class PairMotion:
    """The motion between two sampled frames."""

    start: float
    end: float
    camera: CameraStep | None  # None: the camera did not move, or no global fit exists
    region: Region | None  # None: nothing moved beyond the noise floor
    cut: bool = False  # the frames differ almost everywhere with no camera motion to explain it

    @property
    def active(self) -> bool:
        return self.region is not None and not self.cut

    @property
    def still(self) -> bool:
        return self.region is None and not self.cut


@dataclass(frozen=True)
class Alignment:
    """A pair with the camera's motion taken out: the earlier frame warped onto the later one,
    where the warp has real pixels, and the deviations there (zero elsewhere)."""

    camera: CameraStep
    earlier: Frame
    valid: np.ndarray
    deviations: np.ndarray


def align(earlier: Frame, later: Frame, steady: np.ndarray | None = None) -> Alignment | None:
    """The pair with the camera's motion removed, or None when the camera did not measurably move;
    `steady` marks the pixels that did not change (see `fit_camera`)."""
    camera = fit_camera(earlier.grey, later.grey, steady)
    if camera is None or not _moves(camera, earlier.grey.shape):
        return None
    warped, valid = _aligned(earlier, camera)
    deviations = np.where(valid, deviation(warped, later), np.float32(0))
    return Alignment(camera, warped, valid, deviations)


def measure_pair(
    earlier: Frame,
    later: Frame,
    deviations: np.ndarray,
    floor: float,
    settings: MotionSettings,
    alignment: Alignment | None = None,
    aligned: bool = False,
) -> PairMotion:
    """The pair's camera step and moving region. `deviations` is `deviation(earlier, later)`,
    `floor` the span's noise sigma; `alignment` is `align(earlier, later)` when `aligned`, else
    it is computed only if something changed, so a still hour costs less than a busy one."""
    threshold = settings.noise_sigmas * floor
    mask = changed_mask(deviations, threshold, settings.min_region)
    if not aligned:
        if mask is None:
            return PairMotion(earlier.time, later.time, None, None)
        alignment = align(earlier, later, deviations <= threshold) if _spread(mask) else None
    if alignment is None:
        if mask is None:
            return PairMotion(earlier.time, later.time, None, None)
        if cv2.countNonZero(mask.view(np.uint8)) / mask.size >= settings.cut_share:
            return PairMotion(earlier.time, later.time, None, None, cut=True)
        return PairMotion(earlier.time, later.time, None, _region(mask, earlier, later, None))
    floor = max(floor, noise_sigma(alignment.deviations[alignment.valid]))
    mask = changed_mask(alignment.deviations, settings.noise_sigmas * floor, settings.min_region)
    region = _region(mask, alignment.earlier, later, alignment.valid) if mask is not None else None
    return PairMotion(earlier.time, later.time, alignment.camera, region)


def changed_mask(deviations: np.ndarray, threshold: float, min_region: float) -> np.ndarray | None:
    """Pixels above `threshold`, opened, in regions of at least `min_region` of the frame; None
    when there are none."""
    raw = np.greater(deviations, threshold).view(np.uint8)  # 0 or 1, as OpenCV wants, without a copy
    smallest = max(4, min_region * raw.size)
    if cv2.countNonZero(raw) < smallest:  # opening only removes pixels: a still pair's few noisy ones end here
        return None
    opened = cv2.morphologyEx(raw, cv2.MORPH_OPEN, _OPEN)
    if cv2.countNonZero(opened) < smallest:
        return None
    labels, areas = _components(opened)
    kept = areas >= smallest  # per label; label 0 is the background
    kept[0] = False
    if kept[1:].all():  # no region too small: the opened pixels are the mask, with no lookup per pixel
        return opened.view(bool)
    if not kept.any():
        return None
    return kept.take(labels)


def _components(opened: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The 8-connected regions of an opened mask: each pixel's label, and each label's area. An opened region
    holds a whole 3x3 cross (5 pixels), so below _SMALL_LABELS pixels every label fits 16 bits: OpenCV's
    histogram of those labels gives the areas for two thirds of what connectedComponentsWithStats costs."""
    if opened.size < _SMALL_LABELS:
        count, labels = cv2.connectedComponents(opened, connectivity=8, ltype=cv2.CV_16U)
        return labels, cv2.calcHist([labels], [0], None, [count], [0, count]).ravel()
    _, labels, stats, _ = cv2.connectedComponentsWithStats(opened, connectivity=8)
    return labels, stats[:, cv2.CC_STAT_AREA]


def _spread(mask: np.ndarray) -> bool:
    """Whether changes reach at least half of a 4x4 grid over the frame: a moving camera changes
    the whole frame, an object only its part, so only a spread change is worth a camera fit."""
    height, width = mask.shape
    columns = np.logical_or.reduceat(mask, [j * width // 4 for j in range(4)], axis=1)
    cells = np.logical_or.reduceat(columns, [i * height // 4 for i in range(4)], axis=0)
    return int(np.count_nonzero(cells)) >= CAMERA_CELLS


def _moves(camera: CameraStep, shape: tuple[int, ...]) -> bool:
    """Whether the fitted motion shifts any corner of the frame by a measurable amount."""
    height, width = shape[:2]
    corners = np.array([[0, 0, 1], [width, 0, 1], [0, height, 1], [width, height, 1]], dtype=np.float64)
    moved = corners @ camera.matrix(width, height).T - corners[:, :2]
    return float(np.abs(moved).max()) > NO_SHIFT_PX


def _aligned(earlier: Frame, camera: CameraStep) -> tuple[Frame, np.ndarray]:
    """`earlier` warped onto the later frame, and where the warp has real pixels."""
    height, width = earlier.grey.shape
    matrix = camera.matrix(width, height)
    size = (width, height)
    warp = lambda image, how=cv2.INTER_LINEAR: cv2.warpAffine(image, matrix, size, flags=how)  # noqa: E731
    inside = warp(np.full((height, width), 255, np.uint8), cv2.INTER_NEAREST)
    valid = cv2.erode(inside, _RING) > 0
    return Frame(earlier.time, warp(earlier.rgb), warp(earlier.grey), warp(earlier.smooth)), valid


def _region(mask: np.ndarray, earlier: Frame, later: Frame, valid: np.ndarray | None) -> Region:
    height, width = mask.shape
    pixels = np.ascontiguousarray(mask).view(np.uint8)
    # Its area, centre and box from OpenCV's sums over the mask, exact in whole numbers, with no list of pixels.
    moments = cv2.moments(pixels, binaryImage=True)
    area = round(moments["m00"])
    x0, y0, box_width, box_height = cv2.boundingRect(pixels)
    x1, y1 = x0 + box_width, y0 + box_height
    ring = cv2.dilate(pixels, _RING).view(bool) & ~mask
    if valid is not None:
        ring &= valid
    # Colours from every other pixel: the palette's shares come out the same, four times faster.
    sparse, sparse_ring = mask[::2, ::2], ring[::2, ::2]
    inside = np.concatenate([earlier.colour_names[sparse], later.colour_names[sparse]])
    around = np.concatenate([earlier.colour_names[sparse_ring], later.colour_names[sparse_ring]])
    edges = tuple(
        name
        for name, touches in (("left", x0 <= 1), ("right", x1 >= width - 1), ("top", y0 <= 1), ("bottom", y1 >= height - 1))
        if touches
    )
    return Region(
        x=(moments["m10"] / moments["m00"] + 0.5) / width,
        y=(moments["m01"] / moments["m00"] + 0.5) / height,
        size=math.sqrt(area) / width,
        share=area / mask.size,
        box=(x0 / width, y0 / height, x1 / width, y1 / height),
        edges=edges,
        colour=tuple(float(c) for c in colour_excess(inside, around)),
    )
