"""Telegram Bot API: adapter, proxy translation of Bot API calls, getUpdates events."""
