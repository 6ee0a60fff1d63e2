"""The web board's queries: plain data (rows, totals, rates) for bot/web, never HTML."""
