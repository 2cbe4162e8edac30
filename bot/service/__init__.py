"""Service layer: question -> Answer, admin work (reindex, upload, stats), the query log and evaluation."""
