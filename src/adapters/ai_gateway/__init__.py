"""The AI Gateway: service-account tokens and its OpenAI-compatible routes."""
