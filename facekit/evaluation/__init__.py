"""Evaluation against ground truth: :func:`evaluate` and :class:`Evaluation` (COCO's matching and
AP, the exact threshold curve, tracking metrics by TrackEval). ``fidelity`` (the model variants'
gate) is a separate module here and is not imported by this package."""

from .report import Evaluation, evaluate

__all__ = ["Evaluation", "evaluate"]
