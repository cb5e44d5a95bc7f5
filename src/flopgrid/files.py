"""Every file flopgrid reads from a user or writes for one goes through here (an edge of
the core, used by every layer's loaders and by the CLI).

- `read_input_text(path, what)`: the whole file as text. A missing or unreadable file, a
  directory, a file over `MAX_INPUT_BYTES`, or bytes that are not UTF-8 are one-line
  `UserInputError`s naming the file and what was expected (exit code 2 at the CLI).
- `write_text_atomic(path, text)` and `atomic_output(path)`: write through a temporary file
  in the target's folder and a rename, so an interrupted or failed write (full disk,
  Ctrl-C) never leaves half a file and never changes an existing one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flopgrid.errors import UserInputError

MAX_INPUT_BYTES = 2 * 1024**3  # 2 GiB: every shipped or real trace is far below (Philly 82k jobs: 5 MB)


def read_input_bytes(path: str | Path, what: str = "file", limit_bytes: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of an input file, or a one-line UserInputError."""
    p = Path(path)
    try:
        if p.is_dir():
            raise UserInputError(f"{what} {str(p)!r} is a directory, not a file")
        size = p.stat().st_size
        if size > limit_bytes:
            raise UserInputError(f"{what} {str(p)!r} is {size / 1024**2:,.0f} MiB: the limit is "
                                 f"{limit_bytes / 1024**2:,.0f} MiB")
        return p.read_bytes()
    except FileNotFoundError:
        raise UserInputError(f"{what} {str(p)!r} does not exist") from None
    except OSError as exc:
        raise UserInputError(f"cannot read {what} {str(p)!r}: {exc.strerror or exc}") from None


def decode_text(data: bytes, origin: str, what: str = "file") -> str:
    """UTF-8 text (a leading byte-order mark is dropped), or a one-line UserInputError
    naming the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = data[exc.start:exc.start + 1].hex()
        raise UserInputError(f"{what} {origin!r} is not UTF-8 text (byte 0x{bad} at offset {exc.start}): "
                             "save it as UTF-8") from None


def read_input_text(path: str | Path, what: str = "file", limit_bytes: int = MAX_INPUT_BYTES) -> str:
    """The text of an input file (UTF-8), or a one-line UserInputError."""
    text = decode_text(read_input_bytes(path, what, limit_bytes), str(path), what)
    if "\x00" in text:
        raise UserInputError(f"{what} {str(path)!r} contains NUL bytes: not a text file")
    return text


@contextmanager
def atomic_output(path: str | Path, what: str = "output") -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success rename it onto `path`, on any
    error (or Ctrl-C) delete it, leaving `path` as it was. OSErrors become one line."""
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise UserInputError(f"cannot write {what} {str(target)!r}: Is a directory")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise UserInputError(f"cannot write {what} {str(target)!r}: {exc.strerror or exc}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except OSError as exc:
        raise UserInputError(f"cannot write {what} {str(target)!r}: {exc.strerror or exc}") from None
    finally:
        if tmp.exists():
            tmp.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(path: str | Path, text: str, what: str = "output") -> None:
    """Write `text` (UTF-8) to `path` through a temporary file and a rename."""
    with atomic_output(path, what) as tmp:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
