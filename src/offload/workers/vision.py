"""Vision pre-screen: ``offload vision screenshot.png [--prompt ...]`` → UI findings with ``needs_escalation``.

Before anything is sent, the image is checked: the file exists, its bytes are a PNG, JPEG, GIF or WebP
(the type comes from the content, not the name), it is not larger than the byte and pixel limits, and the
inventory has a vision-capable model. The request is routed as ``kind = "vision"`` with the image attached,
so only models with the ``vision`` capability are candidates.
"""

from __future__ import annotations

import base64
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from offload.errors import InvalidRequest, UnsupportedContent
from offload.routing.verdict import Verdict
from offload.types import ImagePart
from offload.workers.common import Generation, ValueVerifier, generate_json

if TYPE_CHECKING:
    from offload.engine import Engine, RequestContext

__all__ = ["VISION_SCHEMA", "ImageInfo", "VisionResult", "inspect_image", "screen"]

MAX_BYTES = 10 * 1024 * 1024
MAX_SIDE = 8192
ISSUES = ("broken_layout", "overlapping_text", "missing_image", "low_contrast", "cut_off_text", "misalignment",
          "other")  # fmt: skip
VISION_SCHEMA: dict[str, Any] = {
    "type": "object", "additionalProperties": False, "required": ["findings", "summary", "needs_escalation"],
    "properties": {
        "findings": {"type": "array", "items": {
            "type": "object", "additionalProperties": False,
            "required": ["issue", "severity", "location", "description"],
            "properties": {
                "issue": {"type": "string", "enum": list(ISSUES)},
                "severity": {"type": "string", "enum": ["low", "medium", "high"]},
                "location": {"type": "string"}, "description": {"type": "string", "minLength": 1},
            },
        }},
        "summary": {"type": "string"}, "needs_escalation": {"type": "boolean"},
    },
}  # fmt: skip
PROMPT = (
    "Pre-screen this UI screenshot for visual defects: broken layout, overlapping text, missing or broken "
    "images, low contrast, cut-off text, misalignment. Report each with where it is on the screen. Set "
    "needs_escalation to true when a defect is severe or you are unsure what you see."
)


@dataclass(frozen=True)
class ImageInfo:
    """What the checks found out about an image file."""

    path: Path
    media_type: str
    width: int
    height: int
    size: int


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    i = 2
    while i + 9 < len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            i += 1 if marker == 0xFF else 2
            continue
        (length,) = struct.unpack(">H", data[i + 2 : i + 4])
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            h, w = struct.unpack(">HH", data[i + 5 : i + 9])
            return w, h
        i += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    chunk = data[12:16]
    if chunk == b"VP8X" and len(data) >= 30:
        return 1 + int.from_bytes(data[24:27], "little"), 1 + int.from_bytes(data[27:30], "little")
    if chunk == b"VP8L" and len(data) >= 25:
        b = int.from_bytes(data[21:25], "little")
        return 1 + (b & 0x3FFF), 1 + ((b >> 14) & 0x3FFF)
    if chunk == b"VP8 " and len(data) >= 30:
        w, h = struct.unpack("<HH", data[26:30])
        return w & 0x3FFF, h & 0x3FFF
    return None


def _sniff(data: bytes) -> tuple[str, tuple[int, int] | None] | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24:
        return "image/png", struct.unpack(">II", data[16:24])
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg", _jpeg_size(data)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        return "image/gif", struct.unpack("<HH", data[6:10])
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", _webp_size(data)
    return None


def inspect_image(path: str | Path, *, max_bytes: int = MAX_BYTES, max_side: int = MAX_SIDE) -> tuple[ImageInfo, bytes]:
    """Check an image file before it is sent anywhere; return what it is and its bytes."""
    p = Path(path)
    if not p.is_file():
        raise InvalidRequest(f"image {str(p)!r} does not exist" if not p.exists() else f"{str(p)!r} is not a file",
                             hint="pass the path of a PNG, JPEG, GIF or WebP screenshot")  # fmt: skip
    size = p.stat().st_size
    if size > max_bytes:
        raise InvalidRequest(f"image {str(p)!r} is {size / 1e6:.1f} MB, more than the {max_bytes / 1e6:.0f} MB limit",
                             hint="downscale or crop it (e.g. to 1920 px wide), or raise --max-mb")  # fmt: skip
    data = p.read_bytes()
    sniffed = _sniff(data)
    if sniffed is None:
        raise UnsupportedContent(f"{str(p)!r} is not a PNG, JPEG, GIF or WebP image (by its content)",
                                 hint="take the screenshot as PNG or JPEG")  # fmt: skip
    media_type, dims = sniffed
    if dims is None or min(dims) < 1:
        raise InvalidRequest(f"image {str(p)!r} is damaged: its {media_type} header has no valid size",
                             hint="re-export the image")  # fmt: skip
    w, h = dims
    if max(w, h) > max_side:
        raise InvalidRequest(f"image {str(p)!r} is {w}x{h} px, larger than {max_side} px on a side",
                             hint=f"downscale it to at most {max_side} px on its longer side")  # fmt: skip
    return ImageInfo(p, media_type, w, h, size), data


@dataclass
class VisionResult:
    """The pre-screen's findings."""

    image: ImageInfo
    findings: list[dict[str, Any]]
    summary: str
    needs_escalation: bool
    generation: Generation


def _check(value: Any) -> Verdict:
    unplaced = [i for i, f in enumerate(value["findings"]) if not f["location"].strip()]
    if unplaced:
        msg = f"findings {unplaced} do not say where on the screen the defect is"
        return Verdict(False, "vision", msg, feedback=msg + " (e.g. 'top navigation bar', 'bottom-left card').")
    return Verdict(True, "vision", f"{len(value['findings'])} finding(s), each located")


async def screen(
    engine: Engine,
    image: str | Path,
    *,
    prompt: str | None = None,
    max_bytes: int = MAX_BYTES,
    model: str = "auto",
    ctx: RequestContext | None = None,
) -> VisionResult:
    """Pre-screen a screenshot on a vision-capable model."""
    info, data = inspect_image(image, max_bytes=max_bytes)
    if not any("vision" in m.capabilities or "vision" in m.roles for m in engine.config.models):
        raise UnsupportedContent("no vision-capable model is configured, so the image was not sent",
                                 hint='add one to offload.toml, e.g. a llava or qwen2.5vl model on Ollama with '
                                 'capabilities = ["vision"] and roles = ["vision"]')  # fmt: skip
    part = ImagePart(media_type=info.media_type, data=base64.b64encode(data).decode("ascii"))
    text = PROMPT + (f"\n\nAlso: {prompt}" if prompt else "") + f"\n\nThe screenshot is {info.width}x{info.height} px."
    gen = await generate_json(
        engine, worker="vision", kind="vision", prompt=text, schema=VISION_SCHEMA, images=[part],
        verifiers=[ValueVerifier("vision", _check)], model=model, max_tokens=1024, temperature=0.1, ctx=ctx,
    )  # fmt: skip
    findings = list(gen.value["findings"])
    escalate = bool(gen.value["needs_escalation"]) or any(f["severity"] == "high" for f in findings)
    return VisionResult(info, findings, str(gen.value["summary"]), escalate, gen)
