"""Google's Gemini API (`generateContent`), spoken by Google AI Studio and the AI Gateway's Gemini route."""
