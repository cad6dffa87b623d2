"""Anthropic's Messages API, spoken by Anthropic and by the AI Gateway's Anthropic route."""
