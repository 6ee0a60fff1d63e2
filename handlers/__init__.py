"""salesbot handlers layer."""
