"""Videos: ``dehaze-infer clip.mp4`` and :meth:`dehaze.Dehazer.dehaze_video` (the ``video`` extra, PyAV)."""

from dehaze.video.io import VIDEO_SUFFIXES, VideoInfo, VideoReadError, is_video, probe
from dehaze.video.run import VideoResult, dehaze_video, scan_videos
from dehaze.video.steady import SteadyConfig, SteadyLight

__all__ = [
    "VIDEO_SUFFIXES",
    "SteadyConfig",
    "SteadyLight",
    "VideoInfo",
    "VideoReadError",
    "VideoResult",
    "dehaze_video",
    "is_video",
    "probe",
    "scan_videos",
]
