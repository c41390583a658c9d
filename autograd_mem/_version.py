__version__ = "0.1.0"


def engine_revision() -> str:
    """A short digest of the engine's and the built-in workloads' source: what the counts depend on.

    Two agmem commits of the same version can keep a different number of Variables alive
    (an op that saves one input more): a baseline records this, and a check against
    another revision does not judge the engine's exact counts.
    """
    import hashlib
    from pathlib import Path

    root = Path(__file__).parent
    digest = hashlib.sha256()
    sources = [*(root / "engine").glob("*.py"), *(root / "targets" / "workloads").glob("*.py")]
    for path in sorted(sources):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]
