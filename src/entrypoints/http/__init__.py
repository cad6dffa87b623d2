"""The HTTP API: the seed's endpoints, an OpenAI-compatible `/v1`, and the Settings page."""
