"""salesbot storage layer."""
