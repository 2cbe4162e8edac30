"""Telegram channel: the python-telegram-bot Application, its handlers and HTML rendering."""
