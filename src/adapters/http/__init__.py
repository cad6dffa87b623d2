"""The process's shared HTTP client and the mapping of transport failures to domain errors."""
