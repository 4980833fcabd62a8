"""matplotlib drawings of face tables: overlays, contact sheets, track plots and threshold plots.

Every function takes DataFrames shaped like ``Result.to_frame()`` (faces), the analysed-frames
table (``frame``, ``time``) and ``Result.removed()``, and returns matplotlib objects; none knows
about :class:`facekit.Result`. A track keeps its colour (:func:`track_color`) in every plot.
Where pictures have no time (images: ``time`` is NaN), the x axis is the frame index.
"""

from ._style import TRACK_COLORS, track_color
from .gallery import gallery
from .pictures import contact_sheet, overlay
from .scores import faces_kept, score_histogram
from .tracks import face_count, presence_timeline, track_positions, trajectories

__all__ = [
    "TRACK_COLORS",
    "contact_sheet",
    "face_count",
    "faces_kept",
    "gallery",
    "overlay",
    "presence_timeline",
    "score_histogram",
    "track_color",
    "track_positions",
    "trajectories",
]
