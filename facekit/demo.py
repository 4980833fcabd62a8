"""``facekit demo``: the quickstart notebook's work on bundled data, written to a folder.

The Solvay picture: its faces as Akool JSON and Parquet, the overlay, the score histogram and
faces-kept curve, and its precision/recall against the bundled truth. A pan across it
(generated): every frame tracked, the track gallery, the face tracks and the presence timeline,
the faces table as Parquet, and the video annotated and blurred.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

from . import data
from .pipeline import detect


def run_demo(output: Path) -> list[Path]:
    """Run the demo into ``output`` and return the files written."""
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    output.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def figure(fig, name: str) -> None:
        path = output / name
        fig.savefig(path, dpi=100, bbox_inches="tight")
        plt.close(fig)
        written.append(path)

    picture = detect(data.path("solvay"))
    akool = output / "solvay_akool.json"
    akool.write_text(json.dumps(picture.to_akool(), indent=1), encoding="utf-8")
    written += [akool, picture.save(output / "solvay_result.parquet")]
    fig, ax = plt.subplots(figsize=(12, 9))
    picture.plot(ax=ax)
    figure(fig, "solvay_overlay.png")
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.5), layout="constrained")
    picture.plot.scores(ax=left)
    picture.plot.kept(ax=right)
    figure(fig, "solvay_scores.png")
    print(f"{len(picture)} faces in {picture.meta['source']} ({picture.meta['timings_ms']['total']:.0f} ms)")
    from .evaluation import evaluate

    scores = evaluate(picture, data.truth("solvay")).summary()
    print(f"against the bundled truth: AP50 {scores['ap50']:.3f}, F1 {scores['f1']:.3f} at {picture.confidence}")

    clip = data.pan_video(output / "pan.mp4", seconds=3.0, fps=10.0)
    video = detect(clip.path, every_frame=True, progress=False)
    table = output / "pan_faces.parquet"
    video.to_frame(removed=True).to_parquet(table, index=False)
    written += [clip.path, table]
    figure(video.plot.tracks(), "pan_tracks.png")
    figure(video.plot.gallery(), "pan_gallery.png")
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), layout="constrained")
    video.plot.timeline(ax=top)
    video.plot.counts(ax=bottom)
    figure(fig, "pan_timeline.png")
    written += [
        video.render(output / "pan_annotated.mp4"),
        video.render(output / "pan_blurred.mp4", style="blur", confidence=0.3),
    ]
    print(f"{len(video)} faces in {len(video.frames)} frames of {clip.path.name}, {len(video.tracks())} tracks")
    return written
