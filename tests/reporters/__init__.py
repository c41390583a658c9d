"""Tests of the reporters, and hand-built measurements shared with the CLI tests."""
