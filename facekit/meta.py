"""What a Result knows of the run that made it: source, media, model, service and timings.

Typed and frozen, so no reader probes a dict and no caller changes a Result after the fact;
:meth:`RunMeta.replace` makes a changed copy. ``Result.meta`` shows it as a read-only mapping.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["RunMeta"]


@dataclass(frozen=True)
class RunMeta:
    """Provenance of a Result. Unknown values are None; keys an older or foreign file had that
    this class does not name are kept in ``extra``, so nothing read is lost on a round trip."""

    source: str = ""
    media: str = "image"  # "image" or "video"
    format: str | None = None
    codec: str | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    frame_count: int | None = None
    duration: float | None = None
    rotation: int | None = None
    frames_analysed: int | None = None
    frames_decoded: int | None = None
    model: str | None = None
    model_sha256: str | None = None
    model_source: str | None = None
    precision: str | None = None
    aspect: str | None = None
    variant: str | None = None
    variant_sha256: str | None = None
    input_size: tuple[int, int] | None = None
    providers: tuple[str, ...] = ()
    threads: int | None = None
    spinning: bool | None = None
    facekit: str | None = None
    service: str | None = None
    base_url: str | None = None
    task_id: str | None = None
    timings_ms: Mapping[str, float] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> RunMeta:
        """A RunMeta from a mapping (a saved file's meta, say); unknown keys go to ``extra``."""
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known = {k: v for k, v in values.items() if k in names}
        for key in ("input_size", "providers"):
            if isinstance(known.get(key), list):
                known[key] = tuple(known[key])
        extra = {**dict(values.get("extra") or {}), **{k: v for k, v in values.items() if k not in names | {"extra"}}}
        return cls(**known, extra=extra)

    def as_dict(self) -> dict[str, Any]:
        """Every field as a plain dict, ``extra``'s keys merged in (JSON-ready but for NumPy scalars)."""
        values = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"}
        values["timings_ms"] = dict(self.timings_ms)
        return {**values, **self.extra}

    def replace(self, **changes: Any) -> RunMeta:
        """A copy with ``changes``; names this class does not know go to ``extra``."""
        names = {f.name for f in dataclasses.fields(self)}
        unknown = {k: v for k, v in changes.items() if k not in names}
        known = {k: v for k, v in changes.items() if k in names}
        if unknown:
            known["extra"] = {**self.extra, **unknown}
        return dataclasses.replace(self, **known)
