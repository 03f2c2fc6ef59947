"""Backup directories on the controller (run by the backup and restore roles with Ansible's own Python).

    backup_dir.py unpack DIR    read a base64 tar of one backup directory on stdin, write it to DIR/<name>/,
                                then verify it as below
    backup_dir.py verify PATH   check PATH (a backup directory, or a file in one) against its SHA256SUMS and
                                print {"path": ..., "meta": <meta.json>} on stdout
    backup_dir.py stage PATH    verify PATH as above, then link the files SHA256SUMS lists, and SHA256SUMS, into
                                a new temporary directory and print {"path": <tmp>/<name>, "meta": ...}: what a
                                restore copies onto the backup volume in one go (never credentials.vault.yml)

Exit status 0 on success; 1 with one sentence on stderr when the directory is not a backup, a file is
missing or differs from its checksum, or meta.json is unreadable.
"""
from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path


class BackupError(Exception):
    pass


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path) -> dict:
    directory = path if path.is_dir() else path.parent
    sums = directory / "SHA256SUMS"
    if not sums.is_file():
        raise BackupError(f"{directory} is not a backup of this project (it has no SHA256SUMS): give a directory "
                          "that playbooks/backup.yml wrote under backups/<namespace>/; nothing was changed.")
    listed = {}
    for line in sums.read_text().splitlines():
        checksum, _, name = line.partition("  ")
        listed[name.strip()] = checksum.strip()
    if "meta.json" not in listed:
        raise BackupError(f"{directory} is not a backup of this project (its SHA256SUMS lists no meta.json); "
                          "nothing was changed.")
    for name, checksum in listed.items():
        file = directory / name
        if not file.is_file():
            raise BackupError(f"{file} is missing: the backup is incomplete; use another backup; nothing was changed.")
        if sha256(file) != checksum:
            raise BackupError(f"{file} does not match its checksum in SHA256SUMS (the backup is damaged): use "
                              "another backup; nothing was changed.")
    try:
        meta = json.loads((directory / "meta.json").read_text())
    except ValueError as error:
        raise BackupError(f"{directory}/meta.json is not valid JSON ({error}); nothing was changed.") from None
    return {"path": str(directory.resolve()), "meta": meta}


def stage(path: Path) -> dict:
    checked = verify(path)
    source = Path(checked["path"])
    target = Path(tempfile.mkdtemp(prefix="backup-stage-")) / source.name
    target.mkdir(mode=0o700)
    names = [line.partition("  ")[2].strip() for line in (source / "SHA256SUMS").read_text().splitlines()]
    for name in [*names, "SHA256SUMS"]:
        try:
            os.link(source / name, target / name)
        except OSError:  # another file system, or links not allowed
            shutil.copy2(source / name, target / name)
    return {**checked, "path": str(target)}


def unpack(destination: Path, stream: str) -> dict:
    data = base64.b64decode(stream)
    with tarfile.open(fileobj=io.BytesIO(data)) as archive:
        members = archive.getmembers()
        names = {member.name.split("/")[0] for member in members}
        if len(names) != 1 or any(not (member.isfile() or member.isdir()) or ".." in member.name.split("/")
                                  or member.name.startswith("/") for member in members):
            raise BackupError("the copy from the backup volume is not one backup directory; nothing was written.")
        destination.mkdir(parents=True, exist_ok=True, mode=0o700)
        for member in members:
            target = destination / member.name
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True, mode=0o700)
                continue
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            source = archive.extractfile(member)
            assert source is not None
            target.write_bytes(source.read())
            target.chmod(0o600)
    return verify(destination / names.pop())


def main(argv: list[str]) -> int:
    try:
        if len(argv) == 3 and argv[1] == "verify":
            result = verify(Path(argv[2]))
        elif len(argv) == 3 and argv[1] == "stage":
            result = stage(Path(argv[2]))
        elif len(argv) == 3 and argv[1] == "unpack":
            result = unpack(Path(argv[2]), sys.stdin.read())
        else:
            print(__doc__, file=sys.stderr)
            return 2
    except BackupError as error:
        print(error, file=sys.stderr)
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
