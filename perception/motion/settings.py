"""How motion is measured: one frozen set of thresholds, each with the reason for its default."""

from __future__ import annotations

from dataclasses import dataclass

from perception.errors import ConfigError


@dataclass(frozen=True)
class MotionSettings:
    """How motion is measured. Sizes are shares of the frame; speeds in frame widths per second."""

    width: int = 160  # working width in pixels; frames are scaled down to it
    noise_sigmas: float = 4.0  # a pixel moved when its change exceeds this many noise sigmas
    min_region: float = 0.002  # the smallest moving region, as a share of the frame
    max_pause: float = 0.5  # seconds without change that one activity run may contain, for any cause
    # ... while what moved stays (the scene still differs from before): unlimited, so a visit ends when the
    # visitor is gone, not when they stand still
    max_presence_pause: float = float("inf")
    local_fps: float = 4.0  # rate of the extra frames asked for where runs start and end
    min_camera_speed: float = 0.02  # slower camera motion is not reported
    cut_share: float = 0.75  # a pair changed this much with no camera fit is a cut

    def __post_init__(self) -> None:
        checks = {
            "width": self.width >= 16,
            "noise_sigmas": self.noise_sigmas > 0,
            "min_region": 0 <= self.min_region < 1,
            "max_pause": self.max_pause >= 0,
            "max_presence_pause": self.max_presence_pause >= 0,
            "local_fps": self.local_fps > 0,
            "min_camera_speed": self.min_camera_speed >= 0,
            "cut_share": 0 < self.cut_share <= 1,
        }
        for name, ok in checks.items():
            if not ok:
                raise ConfigError(f"motion setting {name}={getattr(self, name)!r} is out of range")
