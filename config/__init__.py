"""salesbot config layer."""
