"""The ``facekit`` command: detect, models, doctor, demo.

Errors print one line on stderr and exit with 2 for bad input, 1 for anything else facekit
refuses; never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from . import __version__, models
from .errors import FacekitError, InvalidInputError


def _cmd_detect(args: argparse.Namespace) -> int:
    from .options import DetectOptions
    from .pipeline import detect

    options = DetectOptions(
        confidence=args.confidence,
        num_frames=args.num_frames,
        every_frame=args.every_frame,
        single_face=args.single_face,
        crops=args.crops is not None,
        crops_dir=args.crops,
        model=args.model,
        precision=args.precision,
        aspect=args.aspect,
    )
    result = detect(args.source, options)
    if args.format in ("csv", "parquet"):
        if args.output is None and args.format == "parquet":
            raise InvalidInputError("--format parquet needs --output FILE")
        frame = result.to_frame()
        if args.format == "csv":
            frame.to_csv(args.output or sys.stdout, index=False)
        else:
            frame.to_parquet(args.output, index=False)
        return 0
    payload = (
        result.to_akool()
        if args.format == "akool"
        else {
            "faces_obj": result.faces_obj,
            "meta": dict(result.meta),
        }
    )
    text = json.dumps(payload, indent=None if args.format == "akool" else 2)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


def _cmd_models(args: argparse.Namespace) -> int:
    if args.action == "fetch":
        print(models.fetch(sdist=args.sdist, force=args.force))
    elif args.action == "path":
        print(models.path(args.model))
    else:
        from . import variants  # deferred: onnx and onnxruntime are only needed when asked

        print(json.dumps(variants.info(args.model), indent=2))
    return 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    import numpy as np
    import onnxruntime

    from .engine import Detector, default_spinning, default_threads
    from .pipeline import resolve_variant

    lines = {
        "facekit": __version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "onnxruntime": onnxruntime.__version__,
        "available providers": ", ".join(onnxruntime.get_available_providers()),
        "cache": str(models.home()),
    }
    resolved = models.resolve(args.model)
    detector = Detector.load(resolved.path, args.threads)
    blank = np.zeros((720, 1280, 3), np.uint8)
    detector.detect(blank, 0.5)  # warm-up
    runs = []
    for _ in range(args.runs):
        start = time.perf_counter()
        detector.detect(blank, 0.5)
        runs.append((time.perf_counter() - start) * 1e3)
    lines.update(
        {
            "model": str(resolved.path),
            "model sha256": resolved.sha256,
            "model source": resolved.source,
            "model verified": str(resolved.sha256 == models.DEFAULT_MODEL_SHA256),
            "provider": detector.providers[0],
            "threads": f"{detector.threads if args.threads else default_threads()} "
            "(one per usable core unless FACEKIT_THREADS or --threads)",
            "spinning": f"{'on' if default_spinning() else 'off'} (off by default; FACEKIT_SPINNING=1 turns it on)",
            "precision": f"{resolve_variant(args.model)[1].precision} "
            "(auto = fp32 for every model; int8 opt-in: FACEKIT_PRECISION=int8)",
            "ms per detection (1280x720)": f"{sorted(runs)[len(runs) // 2]:.1f} (median of {args.runs})",
        }
    )
    width = max(map(len, lines))
    for key, value in lines.items():
        print(f"{key:<{width}}  {value}")
    return 0


def _cmd_batch(args: argparse.Namespace) -> int:
    from .batch import detect_many

    batch = detect_many(
        args.sources,
        output=args.output,
        workers=args.workers,
        scheduler=args.scheduler,
        confidence=args.confidence,
        num_frames=args.num_frames,
        model=args.model,
    )
    status = batch.status
    print(
        f"{len(status)} files, {int((status['status'] == 'ok').sum())} ok, {len(batch.faces)} faces, "
        f"{len(batch.errors)} errors, {int(status['cached'].sum())} already done; "
        f"{batch.seconds:.1f} s, {batch.files_per_second:.1f} files/s -> {args.output}"
    )
    for row in batch.errors.itertuples():
        print(f"error: {row.source}: {row.error_type}: {row.error}")
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    import logging

    from .server import Settings, serve

    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    settings = Settings.from_env(
        host=args.host,
        port=args.port,
        data_dir=args.data_dir,
        workers=args.workers,
        result_ttl=args.result_ttl,
        model=args.model,
        allow_private_urls=args.allow_private_urls or None,
    )
    serve(settings)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    for path in run_demo(Path(args.output)):
        print(path)
    return 0


def _cmd_render(args: argparse.Namespace) -> int:
    """``facekit render`` and ``facekit anonymize``: detect every frame, then draw or hide the faces."""
    from .pipeline import detect
    from .render import check_output, render_video

    check_output(args.output)  # before minutes of detection
    speed = {"precision": args.precision, "aspect": args.aspect} if hasattr(args, "precision") else {}
    result = detect(args.source, confidence=args.confidence, every_frame=True, progress=True, **speed)
    style: Any = getattr(args, "style", "boxes")  # argparse's choices are render's styles and shapes
    shape: Any = getattr(args, "shape", "ellipse")
    margin = getattr(args, "margin", 0.5)
    path = render_video(
        result,
        args.output,
        source=args.source,
        style=style,
        shape=shape,
        margin=margin,
        trails=getattr(args, "trails", False),
        progress=True,
    )
    print(
        f"{len(result)} face{'' if len(result) == 1 else 's'} in {len(result.frames)} "
        f"frame{'' if len(result.frames) == 1 else 's'} -> {path}"
    )
    return 0


def _add_render_commands(commands) -> None:
    """``facekit anonymize IN OUT`` and ``facekit render IN OUT`` (see :mod:`facekit.render`)."""
    from .render import ANONYMIZE_CONFIDENCE, DEFAULT_MARGIN, DEFAULT_SHAPE

    anonymize = commands.add_parser("anonymize", help="blur, pixelate or mask every face of a picture or video")
    anonymize.add_argument("source", help="picture or video to anonymise")
    anonymize.add_argument("output", help="where to write it (.mp4, .mkv, .mov, .webm; .png, .jpg for pictures)")
    anonymize.add_argument("--style", choices=["blur", "pixelate", "mask"], default="blur")
    anonymize.add_argument(
        "--confidence",
        type=float,
        default=ANONYMIZE_CONFIDENCE,
        help=f"hide faces scoring at least this (default {ANONYMIZE_CONFIDENCE})",
    )
    anonymize.add_argument(
        "--shape", choices=["ellipse", "box"], default=DEFAULT_SHAPE, help=f"area hidden (default {DEFAULT_SHAPE})"
    )
    anonymize.add_argument(
        "--margin",
        type=float,
        default=DEFAULT_MARGIN,
        help=f"growth of each face box on every side, as a fraction of its size (default {DEFAULT_MARGIN})",
    )
    anonymize.add_argument(
        "--precision",
        choices=["int8", "fp32"],
        default="int8",
        help="model precision (default int8: twice as fast, the same faces hidden)",
    )
    anonymize.add_argument(
        "--aspect",
        choices=["square", "native"],
        default="native",
        help="model input shape (default native: the frame's own shape, fastest)",
    )
    anonymize.set_defaults(run=_cmd_render)
    render = commands.add_parser("render", help="draw boxes, track ids, scores and landmarks on a picture or video")
    render.add_argument("source", help="picture or video")
    render.add_argument("output", help="where to write it (.mp4, .mkv, .mov, .webm; .png, .jpg for pictures)")
    render.add_argument("--confidence", type=float, default=0.5, help="minimum face score (default 0.5)")
    render.add_argument("--trails", action="store_true", help="draw each track's last second of positions")
    render.set_defaults(run=_cmd_render)


def _cmd_evaluate(args: argparse.Namespace) -> int:
    """``facekit evaluate``: a saved Result (.json/.parquet from ``Result.save``) or media, against truth."""
    import math

    from .evaluation import evaluate
    from .pipeline import detect
    from .result import load
    from .truth import read_truth

    truth = read_truth(args.truth)  # a bad truth file fails before minutes of detection
    source = Path(args.source)
    saved = source.suffix.lower() in (".json", ".parquet") and source.is_file()
    result = load(source) if saved else detect(args.source, confidence=args.confidence, every_frame=args.every_frame)
    evaluation = evaluate(result, truth, iou=args.iou)
    if args.format == "csv":
        evaluation.curve().to_csv(args.output or sys.stdout, index=False)
        return 0
    summary = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in evaluation.summary().items()}
    text = json.dumps(summary, indent=2)
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    return 0


def _add_evaluate_command(commands) -> None:
    """``facekit evaluate SOURCE_OR_RESULT TRUTH``: the summary as JSON, or the threshold curve as CSV."""
    evaluate = commands.add_parser(
        "evaluate",
        help="score detections against ground truth (COCO, WIDER, VOC, "
        "imglab, MOT, CVAT): AP, precision/recall, best threshold, tracking metrics",
    )
    evaluate.add_argument("source", help="a saved Result (.json, .parquet) or a picture or video to detect in")
    evaluate.add_argument("truth", help="truth file (format told by content) or a folder of Pascal VOC files")
    evaluate.add_argument("--iou", type=float, default=0.5, help="IoU a match needs (default 0.5)")
    evaluate.add_argument(
        "--format",
        choices=["json", "csv"],
        default="json",
        help="json: the summary; csv: precision/recall/F1 at every candidate threshold",
    )
    evaluate.add_argument("--confidence", type=float, default=0.5, help="threshold the summary reports (default 0.5)")
    evaluate.add_argument("--every-frame", action="store_true", help="analyse every frame of a video (for tracks)")
    evaluate.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")
    evaluate.set_defaults(run=_cmd_evaluate)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facekit", description="Face detection for data scientists.")
    parser.add_argument("--version", action="version", version=f"facekit {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    detect = commands.add_parser("detect", help="detect faces in a picture or video; prints Akool JSON")
    detect.add_argument("source", help="path, http(s) URL, base64 string or data: URI")
    detect.add_argument("--confidence", type=float, default=0.5, help="minimum face score (default 0.5)")
    detect.add_argument("--num-frames", type=int, help="frames sampled from a video (1-100, default 5)")
    detect.add_argument("--every-frame", action="store_true", help="analyse every frame of a video")
    detect.add_argument("--single-face", action="store_true", help="keep only the largest face per frame")
    detect.add_argument("--crops", metavar="DIR", help="write face crops into DIR")
    detect.add_argument("--format", choices=["akool", "json", "csv", "parquet"], default="akool")
    detect.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")
    detect.add_argument("--model", help="an .onnx detector or an InsightFace model folder")
    detect.add_argument(
        "--precision",
        choices=["auto", "fp32", "int8"],
        help="model precision (default: FACEKIT_PRECISION or auto: int8 for the default model)",
    )
    detect.add_argument(
        "--aspect",
        choices=["square", "native"],
        help="model input: 640x640 letterbox or the picture's own shape (default: FACEKIT_ASPECT or square)",
    )
    detect.set_defaults(run=_cmd_detect)

    model_cmd = commands.add_parser("models", help="fetch, locate or describe the detector model")
    model_cmd.add_argument("action", choices=["fetch", "path", "info"])
    model_cmd.add_argument("--model", help="an .onnx detector or an InsightFace model folder")
    model_cmd.add_argument("--sdist", help="fetch from a local scrfd-0.3.0.tar.gz instead of PyPI")
    model_cmd.add_argument("--force", action="store_true", help="fetch again even if cached")
    model_cmd.set_defaults(run=_cmd_models)

    doctor = commands.add_parser("doctor", help="versions, model, provider, threads and speed")
    doctor.add_argument("--model", help="an .onnx detector or an InsightFace model folder")
    doctor.add_argument("--threads", type=int, help="onnxruntime threads (default: all cores)")
    doctor.add_argument("--runs", type=int, default=10, help="timed detections")
    doctor.set_defaults(run=_cmd_doctor)

    demo = commands.add_parser("demo", help="detect faces in the bundled Solvay picture; write figures and tables")
    demo.add_argument("--output", default="facekit-demo", help="output folder (default ./facekit-demo)")
    demo.set_defaults(run=_cmd_demo)

    serve = commands.add_parser("serve", help="answer the Akool, Magic Hour and CRUN HTTP APIs with the local detector")
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--data-dir", default="facekit-data", help="tasks, uploads and crops (default ./facekit-data)")
    serve.add_argument("--workers", type=int, default=2, help="task threads and concurrent detections (default 2)")
    serve.add_argument("--result-ttl", type=float, help="seconds results and crops are kept (default 3600)")
    serve.add_argument("--allow-private-urls", action="store_true", help="let url inputs reach private addresses")
    serve.add_argument("--model", help="an .onnx detector or an InsightFace model folder")
    serve.set_defaults(run=_cmd_serve)

    batch = commands.add_parser("batch", help="detect faces in many files into a Parquet folder, resumable")
    batch.add_argument("sources", nargs="+", metavar="SOURCE", help="paths, globs, folders or http(s) URLs")
    batch.add_argument("--output", required=True, metavar="OUT.parquet", help="Parquet folder (resumes if present)")
    batch.add_argument("--workers", type=int, help="local worker processes (default: one per core; 1 = in-process)")
    batch.add_argument("--scheduler", metavar="ADDRESS", help="run on the Dask scheduler at ADDRESS instead")
    batch.add_argument("--confidence", type=float, default=0.5, help="minimum face score (default 0.5)")
    batch.add_argument("--num-frames", type=int, help="frames sampled from each video (1-100, default 5)")
    batch.add_argument("--model", help="an .onnx detector or an InsightFace model folder")
    batch.set_defaults(run=_cmd_batch)
    _add_render_commands(commands)
    _add_evaluate_command(commands)
    return parser


def _error(exc: BaseException) -> None:
    """One line on stderr, whatever the message holds."""
    print("facekit: error: " + " ".join(str(exc).split()), file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``facekit`` command."""
    args = build_parser().parse_args(argv)
    run: Callable[[argparse.Namespace], int] = args.run
    try:
        code = run(args)
        sys.stdout.flush()  # a closed pipe shows up here, inside the handlers below
        return code
    except InvalidInputError as exc:
        _error(exc)
        return 2
    except FacekitError as exc:
        _error(exc)
        return 1
    except BrokenPipeError:  # the reader left early (`facekit detect x | head`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    except OSError as exc:  # e.g. --output or --crops in a folder that cannot be written
        _error(exc)
        return 1
    except KeyboardInterrupt:
        print("facekit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
