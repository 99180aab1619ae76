"""The gateway's OpenAPI 3.1 description (served at ``/openapi.json``; fuzzed by schemathesis in the tests).

Hand-written and small: it names every endpoint of the three dialects with the request fields offload reads,
so a fuzzer explores the real validation paths. Each dialect keeps its own error shape.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from offload import __version__

_STR = {"type": "string"}
_INT = {"type": "integer"}
_NUM = {"type": "number"}
_BOOL = {"type": "boolean"}
_OBJ = {"type": "object"}
_MODEL = {"type": "string", "minLength": 1, "examples": ["auto"]}
_MAX_TOKENS = {"type": "integer", "minimum": 1, "maximum": 1_048_576}
_UNIT = {"type": "number", "minimum": 0, "maximum": 1}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _body(schema: str) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": _ref(schema)}}}


def _responses(error: str, ok: str = "application/json") -> dict[str, Any]:
    err = {"content": {"application/json": {"schema": _ref(error)}}}
    return {
        "200": {"description": "OK", "content": {ok: {"schema": _OBJ}}},
        "4XX": {"description": "Invalid request", **err},
        "5XX": {"description": "Backend failure", **err},
    }


def _post(summary: str, body: str, error: str, ok: str = "application/json") -> dict[str, Any]:
    return {"post": {"summary": summary, "requestBody": _body(body), "responses": _responses(error, ok)}}


def _get(summary: str, error: str = "OpenAIError") -> dict[str, Any]:
    return {"get": {"summary": summary, "responses": _responses(error)}}


_SCHEMAS: dict[str, Any] = {
    "OpenAIError": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {"type": "object", "properties": {"message": _STR, "type": _STR, "param": {}, "code": {}}}
        },
    },
    "AnthropicError": {
        "type": "object",
        "required": ["type", "error"],
        "properties": {
            "type": {"const": "error"},
            "error": {"type": "object", "properties": {"type": _STR, "message": _STR}},
        },
    },
    "OllamaError": {"type": "object", "required": ["error"], "properties": {"error": _STR}},
    "OpenAIMessage": {
        "type": "object",
        "required": ["role"],
        "properties": {
            "role": {"enum": ["system", "developer", "user", "assistant", "tool"]},
            "content": {"anyOf": [_STR, {"type": "array", "items": _OBJ}, {"type": "null"}]},
            "tool_calls": {"type": "array", "items": _OBJ},
            "tool_call_id": _STR,
            "name": _STR,
        },
    },
    "ChatCompletionRequest": {
        "type": "object",
        "required": ["model", "messages"],
        "properties": {
            "model": _MODEL,
            "messages": {"type": "array", "items": _ref("OpenAIMessage"), "minItems": 1},
            "stream": _BOOL,
            "stream_options": {"type": "object", "properties": {"include_usage": _BOOL}},
            "max_tokens": _MAX_TOKENS,
            "max_completion_tokens": _MAX_TOKENS,
            "temperature": {"type": "number", "minimum": 0, "maximum": 2},
            "top_p": _UNIT,
            "seed": _INT,
            "n": {"const": 1},
            "stop": {"anyOf": [_STR, {"type": "array", "items": _STR}]},
            "tools": {"type": "array", "items": _OBJ},
            "tool_choice": {"anyOf": [_STR, _OBJ]},
            "response_format": _OBJ,
        },
    },
    "ResponsesInputItem": {
        "type": "object",
        "properties": {
            "type": {"enum": ["message", "function_call", "function_call_output", "reasoning"]},
            "role": {"enum": ["user", "assistant", "system", "developer"]},
            "content": {"anyOf": [_STR, {"type": "array", "items": _OBJ}]},
            "call_id": _STR,
            "name": _STR,
            "arguments": _STR,
            "output": {"anyOf": [_STR, {"type": "array", "items": _OBJ}]},
        },
    },
    "ResponsesRequest": {
        "type": "object",
        "required": ["model", "input"],
        "properties": {
            "model": _MODEL,
            "input": {"anyOf": [_STR, {"type": "array", "items": _ref("ResponsesInputItem"), "minItems": 1}]},
            "instructions": _STR,
            "stream": _BOOL,
            "store": _BOOL,
            "max_output_tokens": _MAX_TOKENS,
            "temperature": {"type": "number", "minimum": 0, "maximum": 2},
            "top_p": _UNIT,
            "tools": {"type": "array", "items": _OBJ},
            "tool_choice": {"anyOf": [_STR, _OBJ]},
            "parallel_tool_calls": _BOOL,
            "reasoning": _OBJ,
            "include": {"type": "array", "items": _STR},
            "text": _OBJ,
            "metadata": _OBJ,
        },
    },
    "EmbeddingsRequest": {
        "type": "object",
        "required": ["model", "input"],
        "properties": {
            "model": _MODEL,
            "input": {"anyOf": [_STR, {"type": "array", "items": _STR}]},
            "encoding_format": {"enum": ["float", "base64"]},
        },
    },
    "AnthropicMessage": {
        "type": "object",
        "required": ["role", "content"],
        "properties": {
            "role": {"enum": ["user", "assistant"]},
            "content": {"anyOf": [_STR, {"type": "array", "items": _OBJ}]},
        },
    },
    "MessagesRequest": {
        "type": "object",
        "required": ["model", "messages", "max_tokens"],
        "properties": {
            "model": _MODEL,
            "messages": {"type": "array", "items": _ref("AnthropicMessage"), "minItems": 1},
            "max_tokens": _MAX_TOKENS,
            "system": {"anyOf": [_STR, {"type": "array", "items": _OBJ}]},
            "stream": _BOOL,
            "temperature": _UNIT,
            "top_p": _UNIT,
            "top_k": {"type": "integer", "minimum": 0},
            "stop_sequences": {"type": "array", "items": _STR},
            "tools": {"type": "array", "items": _OBJ},
            "tool_choice": _OBJ,
            "thinking": _OBJ,
            "metadata": _OBJ,
            "output_config": _OBJ,
            "context_management": _OBJ,
        },
    },
    "CountTokensRequest": {
        "type": "object",
        "required": ["model", "messages"],
        "properties": {
            "model": _MODEL,
            "messages": {"type": "array", "items": _ref("AnthropicMessage"), "minItems": 1},
            "system": {"anyOf": [_STR, {"type": "array", "items": _OBJ}]},
            "tools": {"type": "array", "items": _OBJ},
        },
    },
    "OllamaMessage": {
        "type": "object",
        "required": ["role"],
        "properties": {
            "role": {"enum": ["system", "user", "assistant", "tool"]},
            "content": _STR,
            "images": {"type": "array", "items": _STR},
            "tool_calls": {"type": "array", "items": _OBJ},
        },
    },
    "OllamaChatRequest": {
        "type": "object",
        "required": ["model"],
        "properties": {
            "model": _MODEL,
            "messages": {"type": "array", "items": _ref("OllamaMessage")},
            "stream": _BOOL,
            "format": {"anyOf": [_STR, _OBJ]},
            "options": _OBJ,
            "tools": {"type": "array", "items": _OBJ},
            "keep_alive": {"anyOf": [_STR, _NUM]},
            "think": _BOOL,
        },
    },
    "OllamaGenerateRequest": {
        "type": "object",
        "required": ["model"],
        "properties": {
            "model": _MODEL,
            "prompt": _STR,
            "system": _STR,
            "suffix": _STR,
            "images": {"type": "array", "items": _STR},
            "stream": _BOOL,
            "raw": _BOOL,
            "format": {"anyOf": [_STR, _OBJ]},
            "options": _OBJ,
            "keep_alive": {"anyOf": [_STR, _NUM]},
        },
    },
    "OllamaEmbedRequest": {
        "type": "object",
        "required": ["model", "input"],
        "properties": {
            "model": _MODEL,
            "input": {"anyOf": [_STR, {"type": "array", "items": _STR}]},
            "truncate": _BOOL,
        },
    },
    "OllamaModelRequest": {"type": "object", "required": ["model"], "properties": {"model": _MODEL, "verbose": _BOOL}},
}


@lru_cache(maxsize=1)
def openapi_schema() -> dict[str, Any]:
    """The OpenAPI document (built once)."""
    paths = {
        "/v1/chat/completions": _post("OpenAI chat completion (JSON or SSE)", "ChatCompletionRequest", "OpenAIError"),
        "/v1/embeddings": _post("OpenAI embeddings", "EmbeddingsRequest", "OpenAIError"),
        "/v1/models": _get("Models offload serves"),
        "/v1/responses": _post(
            "OpenAI Responses API (JSON or SSE; a WebSocket upgrade on GET gets 426)", "ResponsesRequest", "OpenAIError"
        ),
        "/v1/messages": _post("Anthropic Messages (JSON or SSE)", "MessagesRequest", "AnthropicError"),
        "/v1/messages/count_tokens": _post("Anthropic token count", "CountTokensRequest", "AnthropicError"),
        "/api/chat": _post("Ollama chat (NDJSON stream by default)", "OllamaChatRequest", "OllamaError"),
        "/api/generate": _post("Ollama generate (NDJSON stream by default)", "OllamaGenerateRequest", "OllamaError"),
        "/api/embed": _post("Ollama embeddings", "OllamaEmbedRequest", "OllamaError"),
        "/api/show": _post("Ollama model details", "OllamaModelRequest", "OllamaError"),
        "/api/tags": _get("Ollama model list", "OllamaError"),
        "/api/ps": _get("Ollama loaded models", "OllamaError"),
        "/api/version": _get("Ollama API version", "OllamaError"),
        "/health": _get("Backend health"),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "offload gateway",
            "version": __version__,
            "description": "OpenAI, Anthropic and Ollama dialects in front of offload's router.",
        },
        "paths": paths,
        "components": {
            "schemas": _SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {"type": "apiKey", "in": "header", "name": "x-api-key"},
            },
        },
    }
