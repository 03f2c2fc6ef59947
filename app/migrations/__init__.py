"""The migration catalog: app/migrations/NNNN_name.sql files, applied in version order by app.migrate."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class MigrationError(Exception):
    """A migration could not be applied; the message says which and why."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()

    def statements(self) -> list[str]:
        """Statements end with ';' at the end of a line; lines starting with '--' are comments."""
        lines = [line for line in self.sql.splitlines() if not line.lstrip().startswith("--")]
        statements, current = [], []
        for line in lines:
            current.append(line)
            if line.rstrip().endswith(";"):
                statements.append("\n".join(current).strip().rstrip(";"))
                current = []
        if "\n".join(current).strip():
            statements.append("\n".join(current).strip())
        return [statement for statement in statements if statement]


def available_migrations() -> list[Migration]:
    migrations = []
    for entry in resources.files(__name__).iterdir():
        match = _FILE_NAME.match(entry.name)
        if match:
            migrations.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    migrations.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a version number")
    return migrations


def expected_version() -> int:
    migrations = available_migrations()
    return migrations[-1].version if migrations else 0
