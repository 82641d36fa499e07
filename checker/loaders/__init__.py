"""Loading untrusted files into line-aware data, safely and within bounds."""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

from checker.errors import InputError
from checker.loaders.json_loader import load_json
from checker.loaders.limits import MAX_FILE_BYTES
from checker.loaders.nodes import LineDict, LineList, line_of
from checker.loaders.yaml_loader import load_yaml

__all__ = ["LineDict", "LineList", "decode_text", "line_of", "load_document", "load_text", "read_bytes", "read_text"]


def read_bytes(path: Path, display: str) -> tuple[bytes, int]:
    """Read a file within the size bound; return its bytes and size."""
    try:
        status = path.stat()
        if not stat.S_ISREG(status.st_mode):
            # A pipe or a device would block the read, or never end it.
            raise InputError("not a regular file (a pipe, socket or device): not read", path=display)
        if status.st_size > MAX_FILE_BYTES:
            raise InputError(
                f"file is {status.st_size} bytes, over the {MAX_FILE_BYTES}-byte limit", path=display, field="size"
            )
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)  # a file that grew since: still bounded
        if len(raw) > MAX_FILE_BYTES:
            raise InputError(f"file is over the {MAX_FILE_BYTES}-byte limit", path=display, field="size")
    except OSError as exc:
        raise InputError(f"cannot read file: {exc.strerror}", path=display) from None
    return raw, len(raw)


def read_text(path: Path, display: str) -> tuple[bytes, str]:
    """Read a file within the size bound; return its bytes and decoded text."""
    raw, _ = read_bytes(path, display)
    return raw, decode_text(raw, display)


def decode_text(raw: bytes, display: str) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", path=display, field="encoding") from None


# An escape of a UTF-16 surrogate that is not half of a pair (JSON and YAML
# "\udcff"), or any surrogate written as YAML's "\U0000dcff": text no
# encoder can write, which would otherwise surface as a crash when the report is.
_LONE_SURROGATE = re.compile(
    r"\\u[dD][89abAB][0-9a-fA-F]{2}(?!\\u[dD][c-fC-F][0-9a-fA-F]{2})"
    r"|(?<!\\u[dD][89abAB][0-9a-fA-F]{2})\\u[dD][c-fC-F][0-9a-fA-F]{2}"
    r"|\\U0000[dD][89a-fA-F][0-9a-fA-F]{2}"
)


def lone_surrogate(text: str) -> int | None:
    """The line of an escape that stands for no character, or None."""
    if "\\u" not in text and "\\U" not in text:
        return None
    match = _LONE_SURROGATE.search(text)
    return None if match is None else text.count("\n", 0, match.start()) + 1


def load_text(text: str, display: str) -> Any:
    """Parse JSON when the text is JSON, else YAML (as CloudFormation does)."""
    line = lone_surrogate(text)
    if line is not None:
        raise InputError(
            "an escape stands for half a character (a lone UTF-16 surrogate): not valid text", path=display, line=line
        )
    try:
        return _load_text(text, display)
    except ValueError as exc:
        # Python refuses to convert integers of over 4300 digits: a number no
        # template needs, and an input error, not a crash.
        why = "a number has too many digits" if "digits" in str(exc) else str(exc)
        raise InputError(f"cannot be read: {why}", path=display) from None


def _load_text(text: str, display: str) -> Any:
    if text.lstrip()[:1] == "{":
        try:
            return load_json(text, display)
        except InputError as json_error:
            # A YAML flow mapping also starts with "{"; JSON's message is the
            # useful one when neither parses.
            try:
                return load_yaml(text, display)
            except InputError:
                raise json_error from None
    return load_yaml(text, display)


def load_document(path: Path, display: str) -> Any:
    """Read and parse one JSON or YAML file."""
    return load_text(read_text(path, display)[1], display)
