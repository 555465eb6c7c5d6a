"""Public read of the calls."""
