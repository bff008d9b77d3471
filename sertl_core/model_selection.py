"""Domain-aware splitters and scorers (being written)."""
