"""What `tests/` and `bench/` share, so that neither imports the other: the reliability report's
writer, readings of `/proc`, and the description of the machine a figure was measured on.

Not part of the product (the wheel ships `src/` only); standard library only.
"""
