"""Voice notes end to end: WeCom callback → real Whisper → follow-up → card, and under load."""
