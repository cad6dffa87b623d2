"""What the product does: use cases, the provider registry and (soon) the fallback chain."""
