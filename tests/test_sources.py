"""Every kind of source a user may pass, real HTTP on 127.0.0.1, EXIF orientation, and images
told from videos by their content."""

from __future__ import annotations

import base64
import http.server
import io
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

import facekit as fk
from facekit.media import MediaKind, Picture, Video, decode_image, locate, open_media, sniff, sniff_format
from facekit.media.sources import download, fetch_url
from facekit.table import LANDMARK_COLUMNS


def jpeg_bytes(pixels: np.ndarray, **options) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=95, **options)
    return buffer.getvalue()


def boxes(result: fk.Result) -> np.ndarray:
    return result.to_frame()[["x", "y", "w", "h"]].to_numpy()


@pytest.fixture(scope="module")
def newton_rgb(newton_path) -> np.ndarray:
    return fk.data.newton()


@pytest.fixture(scope="module")
def newton_jpeg(newton_rgb) -> bytes:
    return jpeg_bytes(newton_rgb)


@pytest.fixture(scope="module")
def reference(newton_rgb) -> fk.Result:
    """Newton detected from the PNG's pixels: what every other way of passing it must give."""
    return fk.detect(newton_rgb)


# -- a real HTTP server on 127.0.0.1 ---------------------------------------------------------


class _Server:
    """A threaded http.server with a few misbehaving routes; ``release`` ends the stalled ones."""

    def __init__(self, files: dict[str, tuple[bytes, str]]) -> None:
        self.files = files
        self.release = threading.Event()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                server.route(self)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def route(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        path = handler.path
        try:
            if path in self.files:
                body, content_type = self.files[path]
                handler.send_response(200)
                handler.send_header("Content-Type", content_type)
                handler.send_header("Content-Length", str(len(body)))
                handler.end_headers()
                handler.wfile.write(body)
            elif path == "/declared-huge":  # announces 10 GB
                handler.send_response(200)
                handler.send_header("Content-Length", str(10 * 1024**3))
                handler.end_headers()
                handler.wfile.write(b"\0" * 1024)
            elif path == "/endless":  # no Content-Length, never ends
                handler.send_response(200)
                handler.end_headers()
                while not self.release.is_set():
                    handler.wfile.write(b"\0" * 65536)
            elif path == "/stall":  # headers, a few bytes, then silence
                handler.send_response(200)
                handler.send_header("Content-Length", "100000")
                handler.end_headers()
                handler.wfile.write(b"\xff\xd8\xff")
                handler.wfile.flush()
                self.release.wait(30)
            elif path == "/trickle":  # one byte every 50 ms: each read is quick, the whole is not
                handler.send_response(200)
                handler.send_header("Content-Length", "100000")
                handler.end_headers()
                while not self.release.wait(0.05):
                    handler.wfile.write(b"\0")
                    handler.wfile.flush()
            elif path == "/empty":
                handler.send_response(200)
                handler.send_header("Content-Length", "0")
                handler.end_headers()
            else:
                handler.send_error(404)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def server(newton_path, newton_jpeg):
    running = _Server(
        {
            "/newton.png": (newton_path.read_bytes(), "image/png"),
            "/photo.txt": (newton_jpeg, "text/plain"),
            "/clip": (mp4_of_newton(newton_jpeg), "application/octet-stream"),
        }
    )
    yield running
    running.close()


# -- every kind of source --------------------------------------------------------------------


@pytest.mark.slow
def test_path_as_str_and_as_path(newton_path, reference):
    for source in (str(newton_path), Path(newton_path)):
        result = fk.detect(source)
        assert result.meta["source"] == str(newton_path)
        assert result.meta["format"] == "PNG"
        pd.testing.assert_frame_equal(result.to_frame(), reference.to_frame(), check_exact=True)


@pytest.mark.slow
def test_url(server, reference):
    url = server.url + "/newton.png"
    result = fk.detect(url)
    assert result.meta["source"] == url
    pd.testing.assert_frame_equal(result.to_frame(), reference.to_frame(), check_exact=True)


@pytest.mark.slow
def test_url_content_is_sniffed_not_named(server, newton_jpeg):
    """A JPEG served as text/plain under a .txt name is still a JPEG."""
    result = fk.detect(server.url + "/photo.txt")
    assert result.meta["format"] == "JPEG"
    pd.testing.assert_frame_equal(result.to_frame(), fk.detect(newton_jpeg).to_frame(), check_exact=True)


def test_url_not_found(server, model_path):
    with pytest.raises(fk.DownloadError, match="404"):
        fk.detect(server.url + "/missing.jpg")


def test_url_unreachable(model_path):
    with pytest.raises(fk.DownloadError):
        fk.detect("http://127.0.0.1:9/photo.jpg")


def test_url_over_the_size_limit(server, model_path):
    limits = fk.Limits(max_bytes=1_000_000)
    started = time.monotonic()
    with pytest.raises(fk.LimitExceededError, match="max_bytes"):
        fk.detect(server.url + "/declared-huge", limits=limits)
    with pytest.raises(fk.LimitExceededError, match="max_bytes"):
        fk.detect(server.url + "/endless", limits=limits)
    assert time.monotonic() - started < 10


def test_url_that_stalls_times_out(server, model_path):
    limits = fk.Limits(url_timeout=0.5, url_total_timeout=60)
    started = time.monotonic()
    with pytest.raises(fk.DownloadError, match="timed out"):
        fk.detect(server.url + "/stall", limits=limits)
    assert time.monotonic() - started < 3


def test_url_that_trickles_hits_the_total_deadline(server, model_path):
    limits = fk.Limits(url_timeout=2, url_total_timeout=1)
    started = time.monotonic()
    with pytest.raises(fk.DownloadError, match="url_total_timeout"):
        fk.detect(server.url + "/trickle", limits=limits)
    assert time.monotonic() - started < 1 + 2 + 1.5  # the deadline, at most one read timeout, slack


def test_url_with_an_empty_body(server):
    with pytest.raises(fk.DownloadError, match="empty"):
        fetch_url(server.url + "/empty", fk.Limits())


def test_urls_of_other_schemes_are_refused(model_path):
    for url in ("ftp://example.com/photo.jpg", "file:///etc/passwd", "s3://bucket/photo.jpg"):
        with pytest.raises(fk.InvalidInputError, match="scheme"):
            fk.detect(url)


@pytest.mark.slow
def test_base64_and_data_uri(newton_path, reference):
    encoded = base64.b64encode(newton_path.read_bytes()).decode()
    urlsafe = base64.urlsafe_b64encode(newton_path.read_bytes()).decode().rstrip("=")
    wrapped = "\n".join(encoded[i : i + 76] for i in range(0, len(encoded), 76))  # MIME line breaks
    for source in (encoded, urlsafe, wrapped, f"data:image/png;base64,{encoded}", f"data:;base64,{encoded}"):
        pd.testing.assert_frame_equal(fk.detect(source).to_frame(), reference.to_frame(), check_exact=True)


@pytest.mark.slow
def test_bytes_like(newton_path, reference):
    data = newton_path.read_bytes()
    for source in (data, bytearray(data), memoryview(data)):
        pd.testing.assert_frame_equal(fk.detect(source).to_frame(), reference.to_frame(), check_exact=True)


@pytest.mark.slow
def test_arrays_and_pil_images(newton_rgb, newton_path, reference):
    rgba = np.dstack([newton_rgb, np.full(newton_rgb.shape[:2], 255, np.uint8)])
    for source in (newton_rgb, rgba, Image.fromarray(newton_rgb), Image.open(newton_path)):
        pd.testing.assert_frame_equal(fk.detect(source).to_frame(), reference.to_frame(), check_exact=True)
    gray = fk.detect(Image.fromarray(newton_rgb).convert("L"))
    assert len(gray) == 1
    np.testing.assert_allclose(boxes(gray), boxes(reference), atol=3)


def test_transparent_pixels_become_white():
    rgba = np.zeros((16, 16, 4), np.uint8)
    rgba[:8, :, :3] = 40
    rgba[:8, :, 3] = 255
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, "PNG")
    pixels = decode_image(buffer.getvalue(), fk.Limits()).pixels
    assert pixels.shape == (16, 16, 3)
    assert np.all(pixels[:8] == 40) and np.all(pixels[8:] == 255)


# -- EXIF orientation ------------------------------------------------------------------------


def sideways_phone_photo(upright: np.ndarray, orientation: int) -> bytes:
    """The picture as a phone stores it: pixels turned sideways, EXIF saying how to turn them back."""
    turn = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}[orientation]
    stored = Image.fromarray(upright).transpose(turn)
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    stored.save(buffer, "JPEG", quality=95, exif=exif.tobytes())
    return buffer.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize("orientation", [6, 8])
def test_exif_orientation(orientation, newton_rgb, reference):
    photo = sideways_phone_photo(newton_rgb, orientation)
    stored = Image.open(io.BytesIO(photo))
    assert stored.size == (newton_rgb.shape[0], newton_rgb.shape[1])  # really stored sideways
    assert stored.getexif()[0x0112] == orientation
    height, width = newton_rgb.shape[:2]
    for source in (photo, Image.open(io.BytesIO(photo))):
        result = fk.detect(source)
        assert (result.meta["width"], result.meta["height"]) == (width, height)
        assert len(result) == 1
        np.testing.assert_allclose(boxes(result), boxes(reference), atol=3)
        points = result.to_frame()[LANDMARK_COLUMNS].to_numpy()
        np.testing.assert_allclose(points, reference.to_frame()[LANDMARK_COLUMNS].to_numpy(), atol=3)


# -- image or video, by content --------------------------------------------------------------


def animated_gif(frames: list[np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    images = [Image.fromarray(f) for f in frames]
    images[0].save(buffer, "GIF", save_all=True, append_images=images[1:], duration=100, loop=0)
    return buffer.getvalue()


def mp4(frames: list[np.ndarray]) -> bytes:
    av = pytest.importorskip("av")
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        for frame in frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return buffer.getvalue()


@pytest.fixture(scope="module")
def small_frames(newton_rgb) -> list[np.ndarray]:
    small = np.ascontiguousarray(newton_rgb[::4, ::4])[:96, :160]
    return [small, np.ascontiguousarray(small[::-1]), np.ascontiguousarray(small[:, ::-1])]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["gif", "mp4"])
def test_videos_named_jpg_are_videos(kind, small_frames, tmp_path, model_path):
    """Refused as a video while video support is missing, analysed as one once it lands; never
    decoded as a still picture because of its name."""
    data = animated_gif(small_frames) if kind == "gif" else mp4(small_frames)
    disguised = tmp_path / "holiday.jpg"
    disguised.write_bytes(data)
    for source in (disguised, data):
        try:
            result = fk.detect(source)
        except fk.UnsupportedMediaError as exc:
            assert "video" in str(exc)
        else:
            assert result.meta["media"] == "video"


@pytest.mark.slow
def test_a_one_frame_gif_is_a_picture(newton_rgb, tmp_path):
    still = tmp_path / "still.gif"
    Image.fromarray(newton_rgb).save(still, "GIF")
    result = fk.detect(still)
    assert result.meta["media"] == "image" and result.meta["format"] == "GIF"
    assert len(result) == 1


@pytest.mark.slow
def test_a_jpeg_with_a_second_picture_is_a_picture(newton_rgb, reference):
    """Phone photos often carry a second image (MPO: depth or gain map); they are not animations."""
    buffer = io.BytesIO()
    Image.fromarray(newton_rgb).save(buffer, "MPO", save_all=True, append_images=[Image.new("RGB", (160, 90))])
    assert getattr(Image.open(io.BytesIO(buffer.getvalue())), "is_animated", False)
    result = fk.detect(buffer.getvalue())
    assert result.meta["media"] == "image" and result.meta["format"] == "MPO"
    assert len(result) == 1
    np.testing.assert_allclose(boxes(result), boxes(reference), atol=3)


def encoded(image_format: str, pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, image_format)
    return buffer.getvalue()


def test_sniff_real_files(small_frames):
    pixels = small_frames[0]
    for image_format in ("JPEG", "PNG", "BMP", "TIFF", "WEBP", "GIF"):
        assert sniff(encoded(image_format, pixels)[:512]) is MediaKind.IMAGE, image_format
    assert sniff(mp4(small_frames)[:512]) is MediaKind.VIDEO
    av = pytest.importorskip("av")
    for container_format, codec in (("matroska", "mpeg4"), ("avi", "mpeg4"), ("webm", "libvpx")):
        if codec not in av.codecs_available:
            continue
        buffer = io.BytesIO()
        with av.open(buffer, "w", format=container_format) as container:
            stream = container.add_stream(codec, rate=10)
            stream.height, stream.width = pixels.shape[:2]
            stream.pix_fmt = "yuv420p"
            for frame in small_frames:
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
            container.mux(stream.encode())
        assert sniff(buffer.getvalue()[:512]) is MediaKind.VIDEO, container_format
    movie = io.BytesIO()
    with av.open(movie, "w", format="mov") as container:
        stream = container.add_stream("mpeg4", rate=10)
        stream.height, stream.width = pixels.shape[:2]
        stream.pix_fmt = "yuv420p"
        for frame in small_frames:
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    data = movie.getvalue()
    assert data[4:8] == b"ftyp"
    size = int.from_bytes(data[:4], "big")
    legacy = data[:4] + b"wide" + bytes(size - 8) + data[size:]  # an old QuickTime movie: no ftyp atom
    with av.open(io.BytesIO(legacy)) as container:
        assert sum(1 for _ in container.decode(video=0)) == len(small_frames)
    assert sniff(legacy[:512]) is MediaKind.VIDEO
    assert sniff(np.random.default_rng(3).bytes(512)) is MediaKind.UNKNOWN
    assert sniff(b"") is MediaKind.UNKNOWN


def test_sniff_names_the_format(small_frames):
    """One rule gives the kind and the extension a hosted service is told."""
    pixels = small_frames[0]
    for image_format, extension in (
        ("JPEG", "jpg"),
        ("PNG", "png"),
        ("WEBP", "webp"),
        ("GIF", "gif"),
        ("TIFF", "tiff"),
    ):
        assert sniff_format(encoded(image_format, pixels)[:512]) == (MediaKind.IMAGE, extension)
    assert sniff_format(mp4(small_frames)[:512]) == (MediaKind.VIDEO, "mp4")
    assert sniff_format(b"RIFF\0\0\0\0AVI LIST") == (MediaKind.VIDEO, "avi")
    assert sniff_format(b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\x82\x84webm") == (MediaKind.VIDEO, "webm")
    assert sniff_format(b"plain text") == (MediaKind.UNKNOWN, None)


# -- one path from a source to media, in bounded memory -------------------------------------------


def mp4_of_newton(jpeg: bytes) -> bytes:
    """A 3-frame clip of Newton (what the /clip route serves)."""
    small = np.ascontiguousarray(np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"))[::4, ::4])[:96, :160]
    return mp4([small, small[::-1].copy(), small[:, ::-1].copy()])


def test_a_file_is_located_not_read(tmp_path, small_frames):
    """A path stays a path: the video is decoded by PyAV from the file itself."""
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(mp4(small_frames))
    found = locate(clip, fk.Limits())
    assert (found.path, found.data, found.encoded, found.size) == (clip, None, True, clip.stat().st_size)
    video = open_media(str(clip))
    assert isinstance(video, Video) and video.source.path == clip and video.source.data is None
    assert video.frame_count == 3 and len(list(video.stream())) == 3


def test_large_bytes_spill_to_a_temporary_file_removed_with_them(small_frames):
    data = mp4(small_frames)
    small = locate(data, fk.Limits())
    assert small.data == data and small.path is None
    spilled = locate(data, fk.Limits(), spill_bytes=1024)
    path = spilled.path
    assert spilled.data is None and path is not None and path.read_bytes() == data
    assert spilled.sha256() == small.sha256()
    video = open_media(spilled)
    assert isinstance(video, Video) and len(list(video.stream())) == 3
    del spilled, video
    import gc

    gc.collect()
    assert not path.exists()


def test_large_downloads_spill_to_a_temporary_file(server, newton_jpeg):
    kept = download(server.url + "/clip", fk.Limits())
    spilled = download(server.url + "/clip", fk.Limits(), spill_bytes=1000)
    assert kept.path is None and spilled.path is not None and spilled.data is None
    assert spilled.read() == kept.data == server.files["/clip"][0]
    assert isinstance(open_media(spilled), Video)
    with pytest.raises(fk.LimitExceededError):
        download(server.url + "/endless", fk.Limits(max_bytes=200_000), spill_bytes=1000)


def test_open_media_is_the_one_path(newton_path, newton_rgb):
    """Paths, bytes and pixels all come out as a Picture (or a Video), told apart by content."""
    for source in (newton_path, str(newton_path), newton_path.read_bytes(), newton_rgb, Image.fromarray(newton_rgb)):
        picture = open_media(source)
        assert isinstance(picture, Picture) and picture.pixels.shape[:2] == newton_rgb.shape[:2]
