"""directive-bot: answers questions about Party directives with passages and exact references."""

__version__ = "0.1.0"
