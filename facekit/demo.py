"""``facekit demo``: the quickstart on the bundled Solvay picture, written to a folder."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

from . import data
from .pipeline import detect


def run_demo(output: Path) -> list[Path]:
    """Detect the 29 faces of Solvay 1927 and write the Akool JSON, a Parquet table and an overlay."""
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    output.mkdir(parents=True, exist_ok=True)
    result = detect(data.path("solvay"))
    akool = output / "solvay_akool.json"
    akool.write_text(json.dumps(result.to_akool(), indent=1), encoding="utf-8")
    table = result.save(output / "solvay_faces.parquet")
    fig, ax = plt.subplots(figsize=(12, 9))
    result.plot(ax=ax)
    figure = output / "solvay_overlay.png"
    fig.savefig(figure, dpi=100, bbox_inches="tight")
    plt.close(fig)
    print(f"{len(result)} faces in {result.meta['source']} ({result.meta['timings_ms']['total']:.0f} ms)")
    return [akool, table, figure]
