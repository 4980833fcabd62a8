"""The Akool shape: 5 keypoints to 6 landmarks, landmarks_str, and the OpenAPI document of seed 004."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import numpy as np
import pytest
from jsonschema import ValidationError

import facekit as fk
from facekit.schema import LANDMARKS, landmarks_str, six_landmarks, validate_akool

SEED = Path(__file__).resolve().parents[1].parent / "shared" / "seeds" / "004_cb628a6c7250c2a3.txt"
SHIPPED = Path(__file__).resolve().parents[1] / "facekit" / "akool_openapi.yaml"


def response_examples() -> dict[str, dict]:
    return fk.data.akool_examples()


def test_six_landmarks():
    keypoints = np.random.default_rng(0).uniform(0, 500, (7, 5, 2))
    six = six_landmarks(keypoints)
    assert six.shape == (7, 6, 2)
    np.testing.assert_array_equal(six[:, [0, 1, 2, 4, 5]], keypoints)
    np.testing.assert_allclose(six[:, 3], (keypoints[:, 3] + keypoints[:, 4]) / 2)
    assert LANDMARKS[3] == "mouth" and six_landmarks(np.empty((0, 5, 2))).shape == (0, 6, 2)


def test_landmarks_str_is_the_first_four_points_as_integers():
    points = np.array([[120.2, 84.7], [180.4, 88.1], [149.6, 130.3], [150.2, 165.4], [125.0, 165.0], [175.0, 168.0]])
    assert landmarks_str(points) == "120,85:180,88:150,130:150,165"
    text = landmarks_str(np.random.default_rng(1).uniform(-20, 2000, (6, 2)))
    assert re.fullmatch(r"-?\d+,-?\d+(:-?\d+,-?\d+){3}", text)


def test_the_seed_response_examples_follow_the_landmarks_str_rule():
    """Every full example's landmarks_str is its first four landmarks (the README's reading of 004)."""
    for answer in response_examples().values():
        for frame in answer["faces_obj"].values():
            for points, text in zip(frame["landmarks"], frame["landmarks_str"]):
                assert landmarks_str(np.array(points)) == text


@pytest.mark.skipif(not SEED.is_file(), reason="the seed documents (../shared/seeds) are not here")
def test_shipped_openapi_is_the_seed_verbatim():
    block = re.search(r"````yaml[^\n]*\n(.*?)````", SEED.read_text(encoding="utf-8"), re.DOTALL).group(1)
    shipped = SHIPPED.read_text(encoding="utf-8")
    body = "".join(line for line in shipped.splitlines(keepends=True) if not line.startswith("#"))
    assert body == block


def test_seed_examples_validate():
    examples = response_examples()
    assert {"image_success", "video_success", "with_face_urls", "400", "500"} <= set(examples)
    for answer in examples.values():
        validate_akool(answer)


def broken(answer: dict, change) -> dict:
    copied = copy.deepcopy(answer)
    change(copied)
    return copied


@pytest.mark.parametrize(
    "change",
    [
        lambda a: a.pop("faces_obj"),
        lambda a: a.update(error_code="0"),
        lambda a: a["faces_obj"]["0"].pop("region"),
        lambda a: a["faces_obj"]["0"].pop("removed"),
        lambda a: a["faces_obj"]["0"]["region"][0].__setitem__(0, 80.5),
        lambda a: a["faces_obj"]["0"]["landmarks"][0][0].__setitem__(1, 85.25),
        lambda a: a["faces_obj"]["0"].update(frame_time="0"),
        lambda a: a["faces_obj"]["0"].update(landmarks_str=[[1, 2]]),
    ],
    ids=[
        "no-faces_obj",
        "string-error_code",
        "no-region",
        "no-removed",
        "float-region",
        "float-landmark",
        "string-time",
        "list-landmarks_str",
    ],
)
def test_validation_rejects(change):
    with pytest.raises(ValidationError):
        validate_akool(broken(response_examples()["image_success"], change))
