"""Pure policies: decisions with no I/O, tested with properties."""
