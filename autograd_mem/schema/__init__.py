"""agmem's documents: their shapes, their rules, their versioned JSON, and how they reach disk."""
