"""Fake platform servers on localhost that speak the real wire formats."""
