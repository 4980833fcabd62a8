"""Ground truth: read (and write) face annotations in the common formats as one tidy table.

Every reader returns the columns of :data:`TRUTH_DTYPES`: ``source`` (the image or video file
the box belongs to, NA where the format does not name one), ``frame`` (0-based index in that
file: always 0 for pictures, ``frame - 1`` for MOTChallenge's 1-based frames), ``track_id``
(NA where the format has no identities), ``x, y, w, h`` (top-left corner and size, continuous
pixels: VOC's and CVAT's corners become ``w = xmax - xmin``) and ``ignore`` (a region a detector
may or may not find: WIDER's invalid flag, VOC's difficult, imglab's and CVAT's ignore, COCO's
iscrowd, MOT's zero "consider" flag). XML is parsed by expat with document type declarations
refused, so no entity is ever expanded.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.parsers import expat

import numpy as np
import pandas as pd

from .errors import InvalidInputError
from .table import BOX_COLUMNS, typed

__all__ = ["FORMATS", "MAX_TRUTH_BYTES", "TRUTH_DTYPES", "TruthFormatError", "read_truth", "write_truth"]

TRUTH_DTYPES: dict[str, str] = {
    "source": "string",
    "frame": "int64",
    "track_id": "Int64",
    **{c: "float64" for c in BOX_COLUMNS},
    "ignore": "bool",
}
FORMATS = ("coco", "wider", "voc", "imglab", "mot", "cvat")
MAX_TRUTH_BYTES = 256 * 2**20
"""Largest truth file read (``max_bytes=`` changes it): WIDER FACE's whole training set is 3 MB."""


class TruthFormatError(InvalidInputError):
    """A truth file that is not what its format says: the message names the file, line and field."""


def read_truth(
    path_or_frame: str | os.PathLike[str] | pd.DataFrame, format: str | None = None, *, max_bytes: int = MAX_TRUTH_BYTES
) -> pd.DataFrame:
    """One tidy truth table from a file (format told by content, or ``format=``), a folder of
    Pascal VOC files, or a DataFrame with ``x, y, w, h`` (``frame``, ``track_id``, ``ignore`` and
    ``source`` optional; rows flagged ``removed`` are dropped)."""
    if isinstance(path_or_frame, pd.DataFrame):
        return _from_frame(path_or_frame)
    path = Path(path_or_frame)
    if format is not None and format not in FORMATS:
        raise InvalidInputError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    if path.is_dir():
        files = sorted(path.glob("*.xml"))
        if not files:
            raise InvalidInputError(f"{path} holds no .xml files")
        return pd.concat([read_truth(f, format, max_bytes=max_bytes) for f in files], ignore_index=True)
    if not path.is_file():
        raise InvalidInputError(f"no such truth file: {path}")
    if path.stat().st_size > max_bytes:
        raise InvalidInputError(f"{path.name} is larger than max_bytes={max_bytes}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise TruthFormatError(f"{path.name} is not UTF-8 text: {exc}") from exc
    kind = format or _sniff(text, path.name)
    rows = READERS[kind](text, path.name)
    return _table(rows)


def write_truth(truth: pd.DataFrame, path: str | os.PathLike[str], format: str) -> Path:
    """Write a truth table (as :func:`read_truth` returns) in ``format``; VOC takes one picture."""
    if format not in WRITERS:
        raise InvalidInputError(f"format must be one of {', '.join(FORMATS)}, got {format!r}")
    path = Path(path)
    path.write_text(WRITERS[format](_records(read_truth(truth))), encoding="utf-8")
    return path


# -- rows, table ----------------------------------------------------------------------------------


@dataclass
class _Row:
    x: float
    y: float
    w: float
    h: float
    source: str | None = None
    frame: int = 0
    track_id: int | None = None
    ignore: bool = False


def _table(rows: list[_Row]) -> pd.DataFrame:
    table = pd.DataFrame(
        {
            "source": pd.array([r.source for r in rows], dtype="string"),
            "frame": np.array([r.frame for r in rows], dtype=np.int64),
            "track_id": pd.array([r.track_id for r in rows], dtype="Int64"),
            **{c: np.array([getattr(r, c) for r in rows], dtype=np.float64) for c in BOX_COLUMNS},
            "ignore": np.array([r.ignore for r in rows], dtype=bool),
        }
    )
    return table


def _records(table: pd.DataFrame) -> list[_Row]:
    """A truth table's rows as typed records (what the writers take)."""
    columns = {c: table[c].tolist() for c in TRUTH_DTYPES}
    return [
        _Row(
            float(x),
            float(y),
            float(w),
            float(h),
            None if pd.isna(s) else str(s),
            int(f),
            None if pd.isna(t) else int(t),
            bool(i),
        )
        for s, f, t, x, y, w, h, i in zip(*columns.values())
    ]


def _by_source(rows: list[_Row]) -> dict[str, list[_Row]]:
    """Rows grouped by source ("" for none), in order of first appearance."""
    groups: dict[str, list[_Row]] = {}
    for row in rows:
        groups.setdefault(row.source or "", []).append(row)
    return groups


def _from_frame(frame: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in BOX_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidInputError(f"a truth table needs columns x, y, w, h; missing {', '.join(missing)}")
    if "removed" in frame.columns:
        frame = frame[~frame["removed"].astype(bool)]
    table = frame.reset_index(drop=True)
    defaults: dict[str, Any] = {"source": pd.NA, "frame": 0, "track_id": pd.NA, "ignore": False}
    for column, value in defaults.items():
        if column not in table.columns:
            table[column] = value
    try:
        table = typed(table, TRUTH_DTYPES)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"truth table columns have the wrong types: {exc}") from exc
    if table[BOX_COLUMNS].isna().any().any():
        raise InvalidInputError("truth boxes must all be known: x, y, w, h have missing values")
    return table


def _number(value: Any, where: str, name: str) -> float:
    """``value`` as a finite float, or a TruthFormatError naming ``where`` and the field."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TruthFormatError(f"{where}: field {name!r}: {value!r} is not a number") from None
    if not math.isfinite(number):
        raise TruthFormatError(f"{where}: field {name!r}: {value!r} is not a finite number")
    return number


def _integer(value: Any, where: str, name: str) -> int:
    number = _number(value, where, name)
    if number != int(number):
        raise TruthFormatError(f"{where}: field {name!r}: {value!r} is not an integer")
    return int(number)


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes")


# -- sniffing -------------------------------------------------------------------------------------


def _sniff(text: str, name: str) -> str:
    """The format of a truth file, told by its content."""
    head = text.lstrip()[:4096]
    if head.startswith(("{", "[")):
        return "coco"
    if head.startswith("<"):
        root = _xml(text, name).tag
        kinds = {"annotation": "voc", "dataset": "imglab", "annotations": "cvat"}
        if root not in kinds:
            raise TruthFormatError(f"{name}: line 1: XML root <{root}> is none of VOC, imglab or CVAT")
        return kinds[root]
    first = next((line for line in head.splitlines() if line.strip()), "")
    if "," in first and len(first.split(",")) >= 6:
        return "mot"
    if first:
        return "wider"
    raise TruthFormatError(f"{name}: the file is empty")


# -- COCO -----------------------------------------------------------------------------------------


def _read_coco(text: str, name: str) -> list[_Row]:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise TruthFormatError(f"{name}: line {getattr(exc, 'lineno', '?')}: not JSON: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("annotations"), list):
        raise TruthFormatError(f"{name}: a COCO file is an object with an 'annotations' list")
    images = {}
    for i, image in enumerate(document.get("images", [])):
        where = f"{name}: images[{i}]"
        if not isinstance(image, dict) or "id" not in image or "file_name" not in image:
            raise TruthFormatError(f"{where}: an image needs 'id' and 'file_name'")
        images[image["id"]] = (str(image["file_name"]) or None, _integer(image.get("frame_id", 0), where, "frame_id"))
    faces = {c.get("id") for c in document.get("categories", []) if str(c.get("name", "")).lower() == "face"}
    rows = []
    for i, note in enumerate(document["annotations"]):
        where = f"{name}: annotations[{i}]"
        if not isinstance(note, dict):
            raise TruthFormatError(f"{where}: not an object")
        if faces and note.get("category_id") not in faces:
            continue
        box = note.get("bbox")
        if not isinstance(box, list) or len(box) != 4:
            raise TruthFormatError(f"{where}: field 'bbox' must be [x, y, w, h], got {box!r}")
        if note.get("image_id") not in images:
            raise TruthFormatError(f"{where}: field 'image_id': {note.get('image_id')!r} is not in 'images'")
        source, frame = images[note["image_id"]]
        x, y, w, h = (_number(v, where, f"bbox[{k}]") for k, v in enumerate(box))
        track = note.get("track_id")
        rows.append(
            _Row(
                x,
                y,
                w,
                h,
                source,
                frame,
                None if track is None else _integer(track, where, "track_id"),
                _flag(note.get("iscrowd", 0)) or _flag(note.get("ignore", 0)),
            )
        )
    return rows


def _write_coco(rows: list[_Row]) -> str:
    ids: dict[tuple[str, int], int] = {}
    for row in rows:
        ids.setdefault((row.source or "", row.frame), len(ids) + 1)
    images = [{"id": i, "file_name": s, "frame_id": f} for (s, f), i in ids.items()]
    notes = []
    for n, row in enumerate(rows, start=1):
        note: dict[str, Any] = {
            "id": n,
            "image_id": ids[(row.source or "", row.frame)],
            "category_id": 1,
            "bbox": [row.x, row.y, row.w, row.h],
            "area": row.w * row.h,
            "iscrowd": int(row.ignore),
        }
        if row.track_id is not None:
            note["track_id"] = row.track_id
        notes.append(note)
    document = {"images": images, "annotations": notes, "categories": [{"id": 1, "name": "face"}]}
    return json.dumps(document, indent=1) + "\n"


# -- WIDER FACE -----------------------------------------------------------------------------------

WIDER_FIELDS = ("x", "y", "w", "h", "blur", "expression", "illumination", "invalid", "occlusion", "pose")


def _read_wider(text: str, name: str) -> list[_Row]:
    lines = text.splitlines()
    rows, i = [], 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        source = lines[i].strip()
        if i + 1 >= len(lines):
            raise TruthFormatError(f"{name}: line {i + 2}: field 'count': missing after {source!r}")
        count = _integer(lines[i + 1].strip(), f"{name}: line {i + 2}", "count")
        for k in range(max(count, 1)):  # a picture without faces still has one line of zeros
            number = i + 3 + k
            fields = lines[number - 1].split() if number - 1 < len(lines) else []
            if len(fields) < 4:
                raise TruthFormatError(f"{name}: line {number}: field 'x y w h': expected box fields, got {fields!r}")
            values = [_number(v, f"{name}: line {number}", f) for v, f in zip(fields, WIDER_FIELDS)]
            if count:
                invalid = len(values) > 7 and values[7] == 1
                x, y, w, h = values[:4]
                rows.append(_Row(x, y, w, h, source=source, ignore=invalid))
        i += 2 + max(count, 1)
    return rows


def _write_wider(rows: list[_Row]) -> str:
    out = []
    for source, group in _by_source(rows).items():
        out += [source, str(len(group))]
        out += [f"{_g(r.x)} {_g(r.y)} {_g(r.w)} {_g(r.h)} 0 0 0 {int(r.ignore)} 0 0" for r in group]
    return "\n".join(out) + "\n"


def _g(value: float) -> str:
    """A number as the shortest text that reads back exactly (integers without a decimal point)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


# -- MOTChallenge ---------------------------------------------------------------------------------


def _read_mot(text: str, name: str) -> list[_Row]:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        fields = [f.strip() for f in line.split(",")]
        where = f"{name}: line {number}"
        if len(fields) < 6:
            raise TruthFormatError(f"{where}: expected frame,id,x,y,w,h[,consider,...], got {len(fields)} fields")
        frame = _integer(fields[0], where, "frame")
        if frame < 1:
            raise TruthFormatError(f"{where}: field 'frame': MOTChallenge frames start at 1, got {frame}")
        track = _integer(fields[1], where, "id")
        x, y, w, h = (_number(v, where, f) for v, f in zip(fields[2:6], BOX_COLUMNS))
        consider = len(fields) < 7 or _number(fields[6], where, "consider") != 0
        rows.append(_Row(x, y, w, h, None, frame - 1, None if track < 0 else track, not consider))
    return rows


def _write_mot(rows: list[_Row]) -> str:
    lines = [
        f"{r.frame + 1},{-1 if r.track_id is None else r.track_id},{_g(r.x)},{_g(r.y)},{_g(r.w)},{_g(r.h)},"
        f"{0 if r.ignore else 1},1,1"
        for r in sorted(rows, key=lambda r: (r.frame, -1 if r.track_id is None else r.track_id))
    ]
    return "\n".join(lines) + "\n"


# -- XML: a small expat tree that keeps line numbers ---------------------------------------------


@dataclass
class _Element:
    tag: str
    attrib: dict[str, str]
    line: int
    children: list[_Element] = field(default_factory=list)
    text: str = ""

    def find(self, tag: str) -> _Element | None:
        return next((c for c in self.children if c.tag == tag), None)

    def iter(self, tag: str) -> Iterator[_Element]:
        for child in self.children:
            if child.tag == tag:
                yield child
            yield from child.iter(tag)

    def child(self, tag: str, name: str) -> _Element:
        """The child ``tag``, or a TruthFormatError naming this element's line."""
        child = self.find(tag)
        if child is None:
            raise TruthFormatError(f"{name}: line {self.line}: <{self.tag}> has no <{tag}>")
        return child

    def number(self, tag: str, name: str) -> float:
        """The child ``tag``'s text as a number, an error naming that child's line."""
        child = self.child(tag, name)
        return _number(child.text.strip(), f"{name}: line {child.line}", tag)

    def attr(self, key: str, name: str) -> str:
        if key not in self.attrib:
            raise TruthFormatError(f"{name}: line {self.line}: <{self.tag}> has no {key!r} attribute")
        return self.attrib[key]


def _xml(text: str, name: str) -> _Element:
    """Parse XML into :class:`_Element` nodes with their line numbers; DTDs (and so entities) refused."""
    parser = expat.ParserCreate()
    stack: list[_Element] = []
    root: list[_Element] = []

    def start(tag: str, attrib: dict[str, str]) -> None:
        element = _Element(tag, attrib, parser.CurrentLineNumber)
        (stack[-1].children if stack else root).append(element)
        stack.append(element)

    def end(_tag: str) -> None:
        stack.pop()

    def data(chunk: str) -> None:
        if stack:
            stack[-1].text += chunk

    def refuse(*_: Any) -> None:
        raise TruthFormatError(f"{name}: line {parser.CurrentLineNumber}: document type declarations are refused")

    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, data
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    try:
        parser.Parse(text, True)
    except expat.ExpatError as exc:
        raise TruthFormatError(
            f"{name}: line {exc.lineno}: not well-formed XML: {expat.ErrorString(exc.code)}"
        ) from exc
    return root[0]


def _read_voc(text: str, name: str) -> list[_Row]:
    root = _xml(text, name)
    source = root.child("filename", name).text.strip()
    rows = []
    for item in root.iter("object"):
        box = item.find("bndbox")
        if box is None:
            raise TruthFormatError(f"{name}: line {item.line}: <object> has no <bndbox>")
        x1, y1, x2, y2 = (box.number(k, name) for k in ("xmin", "ymin", "xmax", "ymax"))
        difficult = item.find("difficult")
        rows.append(_Row(x1, y1, x2 - x1, y2 - y1, source, ignore=difficult is not None and _flag(difficult.text)))
    return rows


def _write_voc(rows: list[_Row]) -> str:
    sources = _by_source(rows)
    if len(sources) != 1 or any(r.frame != 0 for r in rows):
        raise InvalidInputError("a Pascal VOC file describes one picture: write one file per source")
    objects = "".join(
        f"  <object>\n    <name>face</name>\n    <difficult>{int(r.ignore)}</difficult>\n    <bndbox>\n"
        f"      <xmin>{_g(r.x)}</xmin>\n      <ymin>{_g(r.y)}</ymin>\n"
        f"      <xmax>{_g(r.x + r.w)}</xmax>\n      <ymax>{_g(r.y + r.h)}</ymax>\n    </bndbox>\n  </object>\n"
        for r in rows
    )
    return f"<annotation>\n  <filename>{_escape(next(iter(sources)))}</filename>\n{objects}</annotation>\n"


def _read_imglab(text: str, name: str) -> list[_Row]:
    rows = []
    for image in _xml(text, name).iter("image"):
        source = image.attr("file", name)
        for box in image.iter("box"):
            where = f"{name}: line {box.line}"
            x, y, w, h = (_number(box.attr(k, name), where, k) for k in ("left", "top", "width", "height"))
            rows.append(_Row(x, y, w, h, source, ignore=_flag(box.attrib.get("ignore", "0"))))
    return rows


def _write_imglab(rows: list[_Row]) -> str:
    images = []
    for source, group in _by_source(rows).items():
        boxes = "".join(
            f"    <box top='{_g(r.y)}' left='{_g(r.x)}' width='{_g(r.w)}' height='{_g(r.h)}'"
            f"{' ignore=' + chr(39) + '1' + chr(39) if r.ignore else ''}/>\n"
            for r in group
        )
        images.append(f"  <image file='{_escape(source)}'>\n{boxes}  </image>\n")
    return f"<?xml version='1.0' encoding='UTF-8'?>\n<dataset>\n<images>\n{''.join(images)}</images>\n</dataset>\n"


def _read_cvat(text: str, name: str) -> list[_Row]:
    root = _xml(text, name)
    rows = []
    for track in root.iter("track"):
        track_id = _integer(track.attr("id", name), f"{name}: line {track.line}", "id")
        rows += [
            _cvat_box(box, name, None, track_id) for box in track.iter("box") if not _flag(box.attrib.get("outside"))
        ]
    for image in root.iter("image"):
        source = image.attr("name", name)
        rows += [_cvat_box(box, name, source, None) for box in image.iter("box")]
    return rows


def _cvat_box(box: _Element, name: str, source: str | None, track_id: int | None) -> _Row:
    where = f"{name}: line {box.line}"
    x1, y1, x2, y2 = (_number(box.attr(k, name), where, k) for k in ("xtl", "ytl", "xbr", "ybr"))
    frame = _integer(box.attrib.get("frame", 0), where, "frame")
    ignore = any(a.attrib.get("name") == "ignore" and _flag(a.text) for a in box.iter("attribute"))
    return _Row(x1, y1, x2 - x1, y2 - y1, source, frame, track_id, ignore)


def _write_cvat(rows: list[_Row]) -> str:
    """CVAT for video 1.1: one <track> per identity, an ``outside`` box where it leaves (so CVAT
    does not interpolate across the gap)."""
    tracks: dict[int, list[_Row]] = {}
    for row in rows:
        if row.track_id is None:
            raise InvalidInputError("CVAT video tracks need a track_id on every row")
        tracks.setdefault(row.track_id, []).append(row)
    out = []
    for track_id in sorted(tracks):
        group = sorted(tracks[track_id], key=lambda r: r.frame)
        boxes = []
        for k, r in enumerate(group):
            boxes.append(_cvat_line(r.frame, r.x, r.y, r.w, r.h, outside=False, ignore=r.ignore))
            if k + 1 == len(group) or group[k + 1].frame != r.frame + 1:
                boxes.append(_cvat_line(r.frame + 1, r.x, r.y, r.w, r.h, outside=True, ignore=r.ignore))
        out.append(f'  <track id="{track_id}" label="face">\n{"".join(boxes)}  </track>\n')
    head = '<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n  <version>1.1</version>\n'
    return f"{head}{''.join(out)}</annotations>\n"


def _cvat_line(frame: int, x: float, y: float, w: float, h: float, *, outside: bool, ignore: bool) -> str:
    flag = '<attribute name="ignore">true</attribute>' if ignore else ""
    return (
        f'    <box frame="{frame}" outside="{int(outside)}" occluded="0" keyframe="1" xtl="{_g(x)}" ytl="{_g(y)}" '
        f'xbr="{_g(x + w)}" ybr="{_g(y + h)}">{flag}</box>\n'
    )


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("'", "&apos;")


READERS: dict[str, Callable[[str, str], list[_Row]]] = {
    "coco": _read_coco,
    "wider": _read_wider,
    "voc": _read_voc,
    "imglab": _read_imglab,
    "mot": _read_mot,
    "cvat": _read_cvat,
}
WRITERS: dict[str, Callable[[list[_Row]], str]] = {
    "coco": _write_coco,
    "wider": _write_wider,
    "voc": _write_voc,
    "imglab": _write_imglab,
    "mot": _write_mot,
    "cvat": _write_cvat,
}
