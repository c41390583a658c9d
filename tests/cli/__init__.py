"""Tests of the agmem command line."""
