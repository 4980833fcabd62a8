"""Write data/truth/ from facekit's sample registry and the pan video's construction.

Run from the repository root: ``python data/make_truth.py``. tests/test_data.py checks that the
files read back to exactly these tables, so they cannot drift from the registry.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

import facekit as fk
from facekit.truth import write_truth

HERE = Path(__file__).resolve().parent / "truth"
PAN = {"seconds": 3.0, "fps": 10.0}  # the pan clip the tests make (tests/conftest.py: pan_clip)


def main() -> None:
    samples = pd.concat([fk.data.truth(name) for name in ("solvay", "newton", "gauss")], ignore_index=True)
    write_truth(samples, HERE / "samples.coco.json", "coco")
    write_truth(samples, HERE / "samples_bbx_gt.txt", "wider")
    write_truth(samples, HERE / "samples.imglab.xml", "imglab")
    for source, faces in samples.groupby("source", sort=False):
        write_truth(faces, HERE / "voc" / f"{Path(str(source)).stem}.xml", "voc")
    pan = fk.data.pan_truth(fk.data.PanVideo(Path("pan.mp4"), fk.data.pan_windows(**PAN), (640, 360)))
    write_truth(pan, HERE / "pan_gt.txt", "mot")
    write_truth(pan, HERE / "pan.cvat.xml", "cvat")


if __name__ == "__main__":
    main()
