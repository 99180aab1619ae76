"""Typed, size-limited inputs of the MCP tools (pydantic; the limits are part of each tool's input schema)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from offload.errors import InvalidRequest
from offload.types import ImagePart, Message, TextPart

#: Longest text field (prompt, code, one message): ~50k tokens.
MAX_TEXT = 200_000
MAX_MESSAGES = 200
MAX_IMAGE_URL = 8_000_000
MAX_SCHEMA_CHARS = 20_000
MAX_RECORDS = 100
MAX_OUTPUT_TOKENS = 32_768
#: Largest ``arguments`` object a tool call may carry (checked before validation).
MAX_ARGUMENTS_BYTES = 12_000_000

Text = Annotated[str, Field(max_length=MAX_TEXT)]
ShortText = Annotated[str, Field(max_length=2_000)]
ModelName = Annotated[str, Field(min_length=1, max_length=200, description="An inventory model name, or auto.")]
Kind = Literal[
    "code_generation", "refactor", "review", "explain", "test_generation", "fixtures",
    "mock_api", "vision", "architecture", "debug", "chat",
]  # fmt: skip
MaxTokens = Annotated[int | None, Field(ge=1, le=MAX_OUTPUT_TOKENS, description="Cap on the answer's tokens.")]
Period = Literal["today", "7d", "all"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextBlock(_In):
    """An OpenAI-style text content part."""

    type: Literal["text"]
    text: Text


class ImageURL(_In):
    url: Annotated[str, Field(max_length=MAX_IMAGE_URL, description="A data: URL (base64) or an http(s) URL.")]


class ImageBlock(_In):
    """An OpenAI-style image content part."""

    type: Literal["image_url"]
    image_url: ImageURL


class ChatMessage(_In):
    """An OpenAI-style chat message."""

    role: Literal["system", "user", "assistant"]
    content: Text | Annotated[list[TextBlock | ImageBlock], Field(max_length=64)]


def canonical_messages(messages: list[ChatMessage]) -> tuple[str | None, list[Message]]:
    """OpenAI-style messages as offload's canonical ones; system messages become the system prompt."""
    system: list[str] = []
    out: list[Message] = []
    for m in messages:
        if isinstance(m.content, str):
            parts: list[TextPart | ImagePart] = [TextPart(text=m.content)]
        else:
            parts = [TextPart(text=b.text) if isinstance(b, TextBlock) else _image(b.image_url.url) for b in m.content]
        if m.role == "system":
            system.append("".join(p.text for p in parts if isinstance(p, TextPart)))
        else:
            out.append(Message(role=m.role, content=list(parts)))
    if not out:
        raise InvalidRequest("messages holds no user or assistant message", hint="add a {role: user, content} message")
    return ("\n\n".join(system) or None), out


def _image(url: str) -> ImagePart:
    match = re.match(r"^data:([\w/+.-]+);base64,(.*)$", url, re.S)
    if match:
        return ImagePart(media_type=match.group(1), data=match.group(2))
    if url.startswith(("http://", "https://")):
        return ImagePart(url=url)
    raise InvalidRequest("image_url.url must be a data: URL or an http(s) URL", hint="data:image/png;base64,...")
