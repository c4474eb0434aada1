"""Output paths checked before the work that fills them: a command that
would run for a while and then fail to write its result says so first, as
a usage error (exit 2) naming the option."""

from __future__ import annotations

import os
from pathlib import Path

import click


def _bad(param: str, path, why: str) -> click.BadParameter:
    return click.BadParameter(f"cannot write {path}: {why}", param_hint=param)


def check_file(path: str, param: str) -> None:
    """Raise click.BadParameter unless ``path`` can be created or replaced
    (nothing is left behind by the check)."""
    p = Path(path)
    if p.is_dir():
        raise _bad(param, path, "it is a directory")
    existed = p.exists()
    try:
        with open(p, "ab"):
            pass
    except OSError as e:
        raise _bad(param, path, e.strerror or str(e)) from None
    if not existed:
        p.unlink(missing_ok=True)


def check_dir(path: str, param: str) -> None:
    """Create directory ``path`` if needed; raise click.BadParameter unless
    files can be written in it."""
    p = Path(path)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise _bad(param, path, "it is not a directory") from None
    except OSError as e:
        raise _bad(param, path, e.strerror or str(e)) from None
    if not os.access(p, os.W_OK | os.X_OK):
        raise _bad(param, path, "permission denied")
