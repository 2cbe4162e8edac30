"""Zalo channel: the Bot API client, the webhook server, the bot and plain-text rendering."""
