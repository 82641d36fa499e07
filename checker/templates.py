"""Loading candidates into templates: read once, sniff, parse, classify."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from checker.discovery import Candidate
from checker.errors import InputError
from checker.loaders import LineDict, decode_text, load_text, read_text

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"

# Cheap content test run before parsing: a top-level template key, or a
# Resources section with a ``Type: Vendor::Service::Thing`` entry.
_FORMAT_VERSION = re.compile(r"""^\s*["']?AWSTemplateFormatVersion["']?\s*:""", re.M)
_RESOURCES = re.compile(r"""(?:^|[{,])\s*["']?Resources["']?\s*:""", re.M)
_TYPE = re.compile(r"""["']?Type["']?\s*:\s*["']?[A-Za-z0-9]+::[A-Za-z0-9]+""")


def looks_like_template(text: str) -> bool:
    if _FORMAT_VERSION.search(text):
        return True
    return bool(_RESOURCES.search(text) and _TYPE.search(text))


@dataclass(frozen=True, slots=True)
class Template:
    """One template as loaded. Exactly one of ``data`` and ``error`` is set.

    ``kind`` is ``cloudformation``, ``sam``, ``cdk`` or ``serverless``.
    """

    relpath: str
    sha256: str
    kind: str
    stack: str | None
    data: LineDict | None
    error: InputError | None

    @property
    def resources(self) -> dict[str, Any]:
        if self.data is None:
            return {}
        resources = self.data.get("Resources")
        return resources if isinstance(resources, dict) else {}


def _transforms(data: LineDict) -> list[str]:
    value = data.get("Transform")
    items = value if isinstance(value, list) else [value]
    return [t for t in items if isinstance(t, str)]


def load_template(candidate: Candidate, raw: bytes | None = None) -> Template | None:
    """Load a candidate; ``None`` when a scanned file is not a template at all.

    A file that is a template but cannot be parsed comes back with ``error``
    set, so the run can report it and fail closed. ``raw`` is the file's
    content when the caller has read it already.
    """
    relpath = candidate.relpath
    try:
        if raw is None:
            raw, text = read_text(candidate.path, relpath)
        else:
            text = decode_text(raw, relpath)
    except InputError as exc:
        if not candidate.explicit and exc.field == "encoding":
            # A binary file that merely shares a suffix is not a template.
            return None
        return Template(relpath, "", candidate.kind_hint or "cloudformation", candidate.stack, None, exc)
    digest = hashlib.sha256(raw).hexdigest()
    # A stack listed in a CDK manifest is a template whatever it looks like.
    if not candidate.explicit and candidate.stack is None and not looks_like_template(text):
        return None
    kind = candidate.kind_hint or "cloudformation"
    try:
        data = load_text(text, relpath)
        if not isinstance(data, LineDict):
            raise InputError("a template must be a mapping at the top level", path=relpath, line=1)
        resources = data.get("Resources")
        if not isinstance(resources, dict):
            raise InputError(
                "a template needs a Resources mapping",
                path=relpath,
                line=data.key_lines.get("Resources", 1),
                field="Resources",
            )
    except InputError as exc:
        return Template(relpath, digest, kind, candidate.stack, None, exc)
    if SAM_TRANSFORM in _transforms(data):
        kind = "sam"
    return Template(relpath, digest, kind, candidate.stack, data, None)
