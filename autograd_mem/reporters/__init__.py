"""Reporters: one module per output format; each renders what it is given and measures nothing."""
