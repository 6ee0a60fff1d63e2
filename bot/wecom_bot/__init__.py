"""WeCom 智能机器人 (AI bot) over its WebSocket long connection (developer doc 101463)."""
