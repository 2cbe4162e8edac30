"""Documents layer: files -> Document -> Passage (formats, loading, chunking, Vietnamese text, document numbers)."""
