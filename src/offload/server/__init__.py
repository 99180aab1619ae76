"""The HTTP gateway (ASGI app) that serves the OpenAI, Anthropic and Ollama dialects."""
