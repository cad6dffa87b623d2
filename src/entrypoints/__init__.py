"""How the world talks to the product: settings, the DI container, the CLI and the HTTP API."""
