"""Vision pre-screen: image checks before anything is sent, routing to vision models only, findings."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from offload.errors import InvalidRequest, NoRouteAvailable, UnsupportedContent
from offload.workers.vision import inspect_image, screen
from tests.workers.conftest import Rig


def png(width: int = 4, height: int = 3) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def jpeg(width: int, height: int) -> bytes:
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    return b"\xff\xd8" + app0 + sof + b"\xff\xd9"


IMAGES = {
    "shot.png": (png(), "image/png", 4, 3),
    "photo.jpg": (jpeg(640, 480), "image/jpeg", 640, 480),
    "anim.gif": (b"GIF89a" + struct.pack("<HH", 10, 20) + b"\x00" * 20, "image/gif", 10, 20),
    "pic.webp": (b"RIFF\x00\x00\x00\x00WEBPVP8X" + b"\x00" * 8 + (99).to_bytes(3, "little") + (49).to_bytes(3, "little"),
                 "image/webp", 100, 50),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_image_type_and_size_come_from_the_bytes(tmp_path: Path, name: str) -> None:
    data, media, w, h = IMAGES[name]
    path = tmp_path / ("renamed.bin" if name.endswith("png") else name)
    path.write_bytes(data)
    info, _ = inspect_image(path)
    assert (info.media_type, info.width, info.height) == (media, w, h)


def test_bad_images_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest, match="does not exist"):
        inspect_image(tmp_path / "missing.png")
    text = tmp_path / "notes.png"
    text.write_text("not an image at all")
    with pytest.raises(UnsupportedContent, match="not a PNG, JPEG, GIF or WebP"):
        inspect_image(text)
    big = tmp_path / "big.png"
    big.write_bytes(png() + b"\x00" * 2_000_000)
    with pytest.raises(InvalidRequest, match="more than the 1 MB limit"):
        inspect_image(big, max_bytes=1_000_000)
    huge = tmp_path / "huge.png"
    huge.write_bytes(png()[:16] + struct.pack(">II", 20000, 10) + png()[24:])
    with pytest.raises(InvalidRequest, match="20000x10 px"):
        inspect_image(huge)
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 4)
    with pytest.raises(InvalidRequest, match="damaged"):
        inspect_image(broken)


def answer(findings: list[dict[str, Any]], escalate: bool = False) -> str:
    return json.dumps({"findings": findings, "summary": "checked", "needs_escalation": escalate})


async def test_without_a_vision_model_nothing_is_sent(rig: Rig, tmp_path: Path) -> None:
    img = tmp_path / "shot.png"
    img.write_bytes(png())
    with pytest.raises(UnsupportedContent, match="no vision-capable model"):
        await screen(rig.engine, img)
    assert rig.small.requests == [] and rig.big.requests == []


async def test_screen_routes_to_the_vision_model_with_the_image(rig_factory: Any, tmp_path: Path) -> None:
    rig = rig_factory(vision=True)
    img = tmp_path / "shot.png"
    img.write_bytes(png())
    overlap = {"issue": "overlapping_text", "severity": "high", "location": "top bar", "description": "title over menu"}
    rig.vis.add(answer([overlap]))
    result = await screen(rig.engine, img, prompt="check the header")
    assert result.needs_escalation  # a high-severity finding always escalates
    assert result.findings == [overlap] and result.generation.response.verdict == "verified"
    sent = rig.vis.requests[0]
    assert sent.messages[0].images[0].media_type == "image/png" and "check the header" in sent.all_text()
    assert rig.small.requests == [] and rig.big.requests == []


async def test_findings_must_say_where(rig_factory: Any, tmp_path: Path) -> None:
    rig = rig_factory(vision=True)
    img = tmp_path / "shot.png"
    img.write_bytes(png())
    rig.vis.add(answer([{"issue": "low_contrast", "severity": "low", "location": " ", "description": "grey on grey"}]))
    with pytest.raises(NoRouteAvailable, match="do not say where"):
        await screen(rig.engine, img)
    assert rig.small.requests == []  # text-only models are never tried with an image
