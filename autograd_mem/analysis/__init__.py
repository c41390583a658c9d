"""Pure judgements of documents: variants compared, a baseline checked."""
