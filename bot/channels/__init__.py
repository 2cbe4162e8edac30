"""Chat channels: each one parses updates, calls the answering service and renders its Answer."""
