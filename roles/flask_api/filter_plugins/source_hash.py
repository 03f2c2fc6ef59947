"""Filter plugin: a content hash of the files an image is built from.

`{{ root_dir | source_tree_hash(patterns, extra) }}` returns the first 12 hex digits of a SHA-256 over the
relative path and bytes of every regular file under root_dir matching one of the glob patterns (``**``
recurses), in sorted order, plus the optional extra string (build arguments, for example). Byte-identical
inputs give the same hash on any machine; any added, removed, renamed or edited file changes it.
Python caches (``__pycache__``, ``*.pyc``) are ignored: they are not build inputs.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from ansible.errors import AnsibleFilterError

HASH_LENGTH = 12
IGNORED_DIRS = {"__pycache__"}
IGNORED_SUFFIXES = {".pyc", ".pyo"}


def _matching_files(root: Path, patterns: list[str]) -> list[Path]:
    files: set[Path] = set()
    for pattern in patterns:
        for path in root.glob(pattern):
            if not path.is_file() or path.is_symlink():
                continue
            relative = path.relative_to(root)
            if IGNORED_DIRS.intersection(relative.parts) or path.suffix in IGNORED_SUFFIXES:
                continue
            files.add(relative)
    return sorted(files, key=lambda p: p.as_posix())


def source_tree_hash(root_dir: str, patterns: list[str], extra: str = "") -> str:
    """Hash the files under root_dir that match patterns, plus extra."""
    valid = isinstance(patterns, (list, tuple)) and patterns and all(isinstance(p, str) and p for p in patterns)
    if not valid:
        raise AnsibleFilterError("source_tree_hash: patterns must be a non-empty list of glob strings")
    root = Path(str(root_dir))
    if not root.is_dir():
        raise AnsibleFilterError(f"source_tree_hash: {root} is not a directory")
    files = _matching_files(root, list(patterns))
    if not files:
        raise AnsibleFilterError(f"source_tree_hash: no file under {root} matches {list(patterns)}")
    digest = hashlib.sha256()
    for relative in files:
        content = (root / relative).read_bytes()
        name = relative.as_posix().encode()
        # Length-prefixed fields, so no two different trees can produce the same byte stream.
        digest.update(b"%d:%s%d:" % (len(name), name, len(content)))
        digest.update(content)
    extra_bytes = str(extra).encode()
    digest.update(b"extra%d:%s" % (len(extra_bytes), extra_bytes))
    return digest.hexdigest()[:HASH_LENGTH]


class FilterModule:
    """Ansible entry point."""

    def filters(self) -> dict:
        return {"source_tree_hash": source_tree_hash}
