"""What the product is about: models, errors, ports and pure policies. Imports no framework."""
