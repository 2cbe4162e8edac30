"""Retrieval layer: owns the on-disk index version and answers a question with ranked passages."""
