"""The Akool ``detect_faces`` shape: 5 detector keypoints to 6 landmarks, ``landmarks_str``, validation."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

__all__ = [
    "KEYPOINTS",
    "LANDMARKS",
    "OPTIONAL_FRAME_KEYS",
    "akool_openapi",
    "landmarks_str",
    "landmarks_strs",
    "six_landmarks",
    "validate_akool",
]

# The six Akool landmarks, in Akool's order. The detector gives five (no mouth centre).
LANDMARKS = ("left_eye", "right_eye", "nose", "mouth", "mouth_left", "mouth_right")
KEYPOINTS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
OPTIONAL_FRAME_KEYS = ("face_urls", "crop_region", "crop_landmarks")


def six_landmarks(keypoints: np.ndarray) -> np.ndarray:
    """(N, 5, 2) detector keypoints to Akool's (N, 6, 2): the mouth centre is inserted 4th,
    as the midpoint of the two mouth corners."""
    mouth = keypoints[:, 3:5].mean(axis=1, keepdims=True)
    return np.concatenate([keypoints[:, :3], mouth, keypoints[:, 3:5]], axis=1)


def landmarks_str(points: np.ndarray) -> str | None:
    """Akool's ``"x,y:x,y:x,y:x,y"``: the first four landmarks, rounded to integers.

    Seed 004 contradicts itself on the 4th point; every full example uses the mouth centre,
    which is the 4th of the six landmarks, so that is what this writes.
    """
    return landmarks_strs(np.asarray(points, dtype=np.float64)[None])[0]


def landmarks_strs(points: np.ndarray) -> list[str | None]:
    """:func:`landmarks_str` of every face of an (N, 6, 2) array, None where a point is unknown (NaN)."""
    first = np.asarray(points, dtype=np.float64)[:, :4].reshape(len(points), 8)
    known = np.asarray(~np.isnan(first).any(axis=1), dtype=bool)
    ints = np.rint(np.where(known[:, None], first, 0.0)).astype(np.int64).tolist()
    return [_LANDMARKS_FORMAT % tuple(row) if ok else None for row, ok in zip(ints, known.tolist())]


_LANDMARKS_FORMAT = ":".join(["%d,%d"] * 4)


@lru_cache(maxsize=1)
def akool_openapi() -> dict[str, Any]:
    """The Akool OpenAPI 3.0 document of seed 004, as shipped in the package."""
    import yaml  # part of the dev and server extras

    text = resources.files("facekit").joinpath("akool_openapi.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)


def validate_akool(response: dict[str, Any]) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``response`` is a valid Akool FaceDetectionResponse."""
    from openapi_schema_validator import OAS30Validator  # part of the dev and server extras

    document = akool_openapi()
    schema = {"$ref": "#/components/schemas/FaceDetectionResponse", "components": document["components"]}
    OAS30Validator(schema).validate(response)
