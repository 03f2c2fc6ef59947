"""image_release: the release numbers of an image reference's tag, e.g. "mysql:8.4.3" -> [8, 4, 3],
"localhost/mariadb-standin:10.11" -> [10, 11]; [] when the tag has no leading version (a digest, "latest")."""
from __future__ import annotations

import re

_RELEASE = re.compile(r"^v?(\d+(?:\.\d+)*)")


def image_release(image: str) -> list[int]:
    name = str(image).split("@", 1)[0]
    tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else ""
    match = _RELEASE.match(tag)
    return [int(part) for part in match.group(1).split(".")] if match else []


class FilterModule:
    def filters(self) -> dict[str, object]:
        return {"image_release": image_release}
