"""salesbot bot layer."""
