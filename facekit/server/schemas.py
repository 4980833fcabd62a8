"""Pydantic models of every request and answer, so ``/openapi.json`` describes the real contracts."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .fetch import URL_PATTERN, URL_REGEX
from .storage import ASSET_REGEX

__all__ = [
    "AkoolFrame",
    "AkoolRequest",
    "AkoolResponse",
    "CrunCreateEnvelope",
    "CrunCreated",
    "CrunDetectResult",
    "CrunError",
    "CrunFace",
    "CrunImageRequest",
    "CrunResultEnvelope",
    "CrunTask",
    "CrunVideoRequest",
    "FaceDetectionAssets",
    "FaceDetectionCreate",
    "FaceDetectionCreated",
    "FaceDetectionDetails",
    "FacekitError",
    "Health",
    "MagicHourError",
    "MagicHourFace",
    "MagicHourTaskError",
    "UploadItem",
    "UploadUrl",
    "UploadUrlsRequest",
    "UploadUrlsResponse",
]


def _akool_schema(schema: dict[str, Any]) -> None:
    """Akool's rules the route checks itself (to answer them with Akool's messages), stated in the schema:
    a non-empty ``url`` or ``img``; ``url``, when not empty, an http(s) URL."""
    schema["properties"]["url"]["anyOf"] = [{"type": "string", "pattern": URL_PATTERN},
                                            {"type": "string", "maxLength": 0}, {"type": "null"}]  # fmt: skip
    schema["anyOf"] = [{"required": [name], "properties": {name: {"type": "string", "minLength": 1}}}
                       for name in ("url", "img")]  # fmt: skip


# -- Akool (seed 004) ------------------------------------------------------------------------------


class AkoolRequest(BaseModel):
    """Akool's UnifiedFaceDetectionRequest: ``url`` or ``img`` (``url`` wins)."""

    model_config = ConfigDict(json_schema_extra=_akool_schema)
    url: str | None = Field(None, description="Image or video URL (http or https)")
    img: str | None = Field(None, description="Base64 image data, plain or as a data: URI")
    num_frames: int = Field(5, ge=1, le=100, strict=True, description="Frames analysed in a video")
    return_face_url: bool = Field(False, strict=True, description="Return URLs of face crops served by this server")
    single_face: bool = Field(False, strict=True, description="Only the largest face per frame")


class AkoolFrame(BaseModel):
    """Akool's FaceFrameData: the faces of one analysed frame."""

    landmarks: list[list[list[int]]]
    landmarks_str: list[str] | None = None
    region: list[list[int]]
    removed: list[list[int]]
    frame_time: float | None = None
    face_urls: list[str | None] | None = None
    crop_region: list[list[int] | None] | None = None
    crop_landmarks: list[str | None] | None = None


class AkoolResponse(BaseModel):
    """Akool's FaceDetectionResponse, for answers and errors alike (``error_code`` 1 on errors)."""

    error_code: int
    error_msg: str
    faces_obj: dict[str, AkoolFrame]


# -- Magic Hour (seeds 000, 001 and the magic-hour SDK) --------------------------------------------


class UploadItem(BaseModel):
    extension: str = Field(..., min_length=1, max_length=8, pattern="^[A-Za-z0-9]+$")
    type: Literal["audio", "image", "video"]


class UploadUrlsRequest(BaseModel):
    items: list[UploadItem] = Field(..., min_length=1, max_length=10)


class UploadUrl(BaseModel):
    upload_url: str = Field(..., description="PUT the file's bytes here (no API key: the URL is signed)")
    file_path: str = Field(..., description="Use as assets.target_file_path")
    expires_at: str


class UploadUrlsResponse(BaseModel):
    items: list[UploadUrl]


class FaceDetectionAssets(BaseModel):
    target_file_path: str = Field(
        ...,
        pattern=f"^({ASSET_REGEX}|{URL_REGEX})$",
        description="An uploaded file_path (api-assets/...) or an http(s) URL",
    )


class FaceDetectionCreate(BaseModel):
    assets: FaceDetectionAssets
    confidence_score: float | None = Field(None, ge=0.0, le=1.0, strict=True)


class FaceDetectionCreated(BaseModel):
    id: str
    credits_charged: int


class MagicHourFace(BaseModel):
    path: str
    url: str


class MagicHourTaskError(BaseModel):
    code: str
    message: str


class FaceDetectionDetails(BaseModel):
    id: str
    status: Literal["queued", "rendering", "complete", "error"]
    credits_charged: int
    faces: list[MagicHourFace]
    error: MagicHourTaskError | None


class MagicHourError(BaseModel):
    message: str


# -- CRUN (seeds 002, 003) -------------------------------------------------------------------------


class CrunImageRequest(BaseModel):
    image_url: str = Field(..., pattern=URL_PATTERN, description="URL of the image")


class CrunVideoRequest(BaseModel):
    video_url: str = Field(..., pattern=URL_PATTERN, description="URL of the video or GIF")


class CrunCreated(BaseModel):
    detect_task_id: str


class CrunFace(BaseModel):
    id: int
    link: str


class CrunDetectResult(BaseModel):
    id: str
    status: Literal["succeed"]
    type: Literal["face_detect"]
    faces: list[CrunFace]
    started_at: str | None
    finished_at: str | None
    error: str | None
    hair_id: str | None = None


class CrunTask(BaseModel):
    detect_task_id: str
    status: Literal["starting", "processing", "succeeded", "failed"]
    error: str | None
    result: CrunDetectResult | None


class CrunCreateEnvelope(BaseModel):
    code: int
    message: str
    data: CrunCreated


class CrunResultEnvelope(BaseModel):
    code: int
    message: str
    data: CrunTask


class CrunError(BaseModel):
    code: int
    message: str
    data: None = None


# -- facekit ---------------------------------------------------------------------------------------


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    model: str


class FacekitError(BaseModel):
    detail: str
