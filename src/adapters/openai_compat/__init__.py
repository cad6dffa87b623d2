"""OpenAI's chat-completions wire format, spoken by OpenAI and by the AI Gateway's `/v1`."""
