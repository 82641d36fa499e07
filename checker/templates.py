"""Loading candidates into templates: read once, sniff, parse, classify."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from checker.discovery import Candidate
from checker.errors import InputError
from checker.foreach import PREFIX as FOREACH_PREFIX
from checker.foreach import expand, uses_foreach

if TYPE_CHECKING:
    from checker.facts.deployment_parameters import DeploymentParameters
from checker.loaders import LineDict, load_text, read_bytes

SAM_TRANSFORM = "AWS::Serverless-2016-10-31"


# A top-level Resources key as written in YAML or JSON: a file that has one
# but does not parse is a broken template (TPL001), not "not a template".
def _escapable(word: str) -> str:
    """A pattern for ``word`` with any letter written as a JSON or YAML escape."""

    def hex_of(c: str) -> str:  # either case of the hex digits
        return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in f"{ord(c):02x}")

    return "".join(rf"(?:{c}|\\(?:[uU]00{hex_of(c)}|x{hex_of(c)}|U000000{hex_of(c)}))" for c in word)


_DECLARES_RESOURCES = re.compile(
    r"""(?m)(?:^|[{,?])[ \t]*(?:&\S+[ \t]+)?["']?Resources["']?[ \t]*:"""  # plain, quoted, anchored, flow, ? key
    + "|"
    + _escapable("Resources"),  # any letter escaped (R\u0065sources)
)


# Source code and documents: they may quote a template (a CDK assertion, a
# README's example) without being one. One that parses as a template is judged
# like any file; one that does not is not a broken template (no TPL001).
_PROSE_OR_CODE = frozenset(
    {
        ".md",
        ".markdown",
        ".rst",
        ".adoc",
        ".html",
        ".htm",
        ".ipynb",
        ".ts",
        ".tsx",
        ".js",
        ".jsx",
        ".mjs",
        ".cjs",
        ".py",
        ".java",
        ".kt",
        ".go",
        ".rb",
        ".rs",
        ".cs",
        ".php",
        ".scala",
        ".swift",
        ".sh",
        ".ps1",
        ".tf",
        ".hcl",
        ".snap",
    }
)


def decode_template(raw: bytes) -> str | None:
    """Text in a fixed order: a BOM (UTF-8, UTF-16), then UTF-8, then Latin-1
    for text without NUL bytes; None for what is binary."""
    try:
        if raw.startswith(b"\xef\xbb\xbf"):
            return raw.decode("utf-8-sig")
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            return raw.decode("utf-16")
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        if raw.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) or b"\0" in raw:
            return None
        return raw.decode("latin-1")


def is_template(data: Any) -> bool:
    """A mapping with a ``Resources`` mapping whose entries have a ``Type``, or
    that says it is one (``AWSTemplateFormatVersion``)."""
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        return False
    if "AWSTemplateFormatVersion" in data:
        return True
    return any(
        (isinstance(body, dict) and "Type" in body) or (isinstance(key, str) and key.startswith(FOREACH_PREFIX))
        for key, body in data["Resources"].items()
    )


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
    # Values the team's deployment parameter files give the template's
    # parameters: name -> ((value, file it comes from), ...). Set by discovery.
    parameter_values: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)

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


def load_template(
    candidate: Candidate, raw: bytes | None = None, parameters: DeploymentParameters | None = None
) -> Template | None:
    """Load a candidate; ``None`` when a found file is not a template at all.

    What a template is, is decided by parsing: a YAML or JSON document whose
    top level has a ``Resources`` mapping of entries with a ``Type``,
    whatever the file is named or encoded. A file that declares a top-level
    ``Resources`` but cannot be decoded or parsed comes back with ``error``
    set, so the run reports it and fails closed; so does any file named
    explicitly or listed in a CDK manifest. ``raw`` is the file's content when
    the caller has read it already.
    """
    relpath = candidate.relpath
    # Named by the user, or by a CDK manifest (a Serverless stack name is only
    # what the folder's state file says: the state file itself is no template).
    sure = candidate.explicit or (candidate.kind_hint == "cdk" and candidate.stack is not None)
    kind = candidate.kind_hint or "cloudformation"
    try:
        if raw is None:
            raw, _ = read_bytes(candidate.path, relpath)
    except InputError as exc:
        return Template(relpath, "", kind, candidate.stack, None, exc) if sure else None
    text = decode_template(raw)
    digest = hashlib.sha256(raw).hexdigest()
    if text is None:
        if not sure:
            return None  # a binary file
        error = InputError("not text (UTF-8, UTF-16 with a BOM, or Latin-1)", path=relpath, field="encoding")
        return Template(relpath, digest, kind, candidate.stack, None, error)
    # Cheap before parsing: a key spelled "Resources" appears as such, or
    # through an escape (JSON \u0052, YAML "\x52").
    if not sure and "Resources" not in text and "\\" not in text:
        return None
    try:
        data = load_text(text, relpath)
    except InputError as exc:
        if sure or (_DECLARES_RESOURCES.search(text) and PurePosixPath(relpath).suffix.lower() not in _PROSE_OR_CODE):
            return Template(relpath, digest, kind, candidate.stack, None, exc)
        return None  # YAML or JSON that is not CloudFormation (or not YAML at all)
    if not sure and not is_template(data):
        return None
    try:
        if not isinstance(data, LineDict):
            raise InputError("a template must be a mapping at the top level", path=relpath, line=1)
        if not isinstance(data.get("Resources"), dict):
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
    # The values the team's parameter files give the parameters this template declares.
    declared = data.get("Parameters")
    values = (
        parameters.values_for(relpath, [str(name) for name in declared])
        if parameters is not None and parameters.files and isinstance(declared, dict)
        else {}
    )
    if uses_foreach(data["Resources"]):
        # Resources a loop generates are judged as deployed (AWS::LanguageExtensions).
        try:
            expanded = LineDict(data.line)
            for key, value in data.items():
                expanded[key] = expand(value, data, relpath, values) if key == "Resources" else value
            expanded.key_lines = dict(data.key_lines)
        except InputError as exc:
            return Template(relpath, digest, kind, candidate.stack, None, exc)
        data = expanded
    return Template(relpath, digest, kind, candidate.stack, data, None, values)
