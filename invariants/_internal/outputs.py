"""Files and folders the workflows write: nothing a user saved is ever overwritten.

A file flag (``--json``, ``--md``) names a new file in an existing folder, checked before any work starts
(``new_file``) and opened with "x" when written (``write_new``: a file that appeared meanwhile is refused,
not replaced).  An output folder (``--out``) is new, empty, or one this workflow wrote before, recognised by
its ``marker`` (``output_dir``), whose own outputs it then rewrites.  Errors are ``UsageError``s naming the
flag.
"""

from __future__ import annotations

from pathlib import Path

from .errors import UsageError


def new_file(flag: str, path: str | Path) -> Path:
    """``path`` checked as a new file for ``flag``: it must not exist and its folder must."""
    p = Path(path)
    if p.is_dir():
        raise UsageError(f"{flag} {path} is a directory; name a new file")
    if p.exists() or p.is_symlink():
        raise UsageError(f"{flag} {path} exists; refusing to overwrite it (name a new file)")
    if not p.resolve().parent.is_dir():
        raise UsageError(f"{flag} {path}: the directory {p.resolve().parent} does not exist")
    return p


def write_new(flag: str, path: str | Path, text: str) -> Path:
    """Write ``text`` to the new file ``path`` (opened with "x": never replaces a file)."""
    p = Path(path)
    try:
        with p.open("x") as fh:
            fh.write(text)
    except FileExistsError:
        raise UsageError(f"{flag} {path}: appeared while this ran; refusing to overwrite it") from None
    return p


def output_dir(flag: str, path: str | Path, marker: str, what: str) -> Path:
    """``path`` checked as an output folder for ``flag``: absent, empty, or holding ``marker``, a folder of
    ``*.json`` records only (the sign that ``what`` wrote it before, which it may then update; a project's own
    folder of that name holds other things); nothing is created here."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UsageError(f"{flag} {path}: exists and is not a directory")
    store = p / marker
    ours = store.is_dir() and all(c.is_file() and c.suffix == ".json" for c in store.iterdir())
    if p.is_dir() and any(p.iterdir()) and not ours:
        raise UsageError(f"{flag} {path}: a non-empty directory that holds no earlier {what} ({marker}/ of "
                         f"*.json records); "
                         f"refusing to write into it (name a new or empty directory, or an earlier {what}'s)")
    return p
