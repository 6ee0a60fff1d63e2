"""WeCom adapter tests against a fake WeCom on localhost."""
