"""mysql_string: a value as a MySQL/MariaDB single-quoted string literal, for statements built from passwords
(ALTER USER ... IDENTIFIED BY <literal>), which cannot take placeholders when run through the mysql client."""
from __future__ import annotations


def mysql_string(value: object) -> str:
    text = str(value)
    if "\x00" in text:
        raise ValueError("a MySQL string literal cannot hold a NUL character")
    return "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"


class FilterModule:
    def filters(self) -> dict[str, object]:
        return {"mysql_string": mysql_string}
