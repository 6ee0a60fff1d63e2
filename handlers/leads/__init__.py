"""Leads: intake (chat, CSV, HTTP), assignment by region and load, the first touch."""
