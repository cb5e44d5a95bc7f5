"""Small, readable examples that run on a laptop CPU (need the `meter` extra: torch)."""
