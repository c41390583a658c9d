"""The pytest plugin: hooks, the in-process probe of a test body, the session's summary."""
