"""One use case per module: a class with one `execute`."""
