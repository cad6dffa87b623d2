"""IdeaForge provider gateway: the AI Gateway first, OpenAI, Gemini and Claude behind it.

The installed package's one import root. The repository keeps the design card's folders
(`src/domain`, `src/application`, `src/adapters`, `src/entrypoints`); the wheel installs them
under `ideaforge_gateway/`, so a host application with packages of the same names imports both.
"""
