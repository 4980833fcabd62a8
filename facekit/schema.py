"""The Akool ``detect_faces`` shape: 5 detector keypoints to 6 landmarks, ``landmarks_str``, validation."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

# The six Akool landmarks, in Akool's order. The detector gives five (no mouth centre).
LANDMARKS = ("left_eye", "right_eye", "nose", "mouth", "mouth_left", "mouth_right")
KEYPOINTS = ("left_eye", "right_eye", "nose", "mouth_left", "mouth_right")
OPTIONAL_FRAME_KEYS = ("face_urls", "crop_region", "crop_landmarks")


def six_landmarks(keypoints: np.ndarray) -> np.ndarray:
    """(N, 5, 2) detector keypoints to Akool's (N, 6, 2): the mouth centre is inserted 4th,
    as the midpoint of the two mouth corners."""
    mouth = keypoints[:, 3:5].mean(axis=1, keepdims=True)
    return np.concatenate([keypoints[:, :3], mouth, keypoints[:, 3:5]], axis=1)


def landmarks_str(points: np.ndarray) -> str:
    """Akool's ``"x,y:x,y:x,y:x,y"``: the first four landmarks, rounded to integers.

    Seed 004 contradicts itself on the 4th point; every full example uses the mouth centre,
    which is the 4th of the six landmarks, so that is what this writes.
    """
    ints = np.rint(np.asarray(points, dtype=np.float64)[:4]).astype(np.int64)
    return ":".join(f"{x},{y}" for x, y in ints)


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
