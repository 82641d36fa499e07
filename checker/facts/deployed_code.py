"""What code a template deploys: the local folders of its functions and
layers, in their runtimes' languages. Coverage counts these files whether
or not a test imported them (:mod:`checker.evidence.sources`)."""

from __future__ import annotations

import posixpath
from typing import Any

from checker.facts.intrinsics import Resolver
from checker.templates import Template

# Resources whose properties name the local folder of code they deploy.
_CODE_CARRIERS = ("AWS::Serverless::Function", "AWS::Serverless::LayerVersion", "AWS::Lambda::Function")
# The source files a Lambda runtime runs, by the runtime's family.
_RUNTIME_SOURCES = {"python": ("*.py",), "nodejs": ("*.js", "*.mjs", "*.cjs", "*.ts")}


def deployed_code(template: Template) -> tuple[str, ...]:
    """The source files the template's functions and layers deploy, each as
    ``folder/*.py``: a root-relative folder (literal) and a file-name glob.
    The folders: each local ``CodeUri`` (``ContentUri``) folder, or the
    Globals', in its runtime's language; every value an intrinsic can take
    (a parameter's default, an ``!If``'s branches, a ``!Sub``). A runtime
    that cannot be resolved counts every language's files. Coverage counts
    them whether or not a test imported them."""
    resolver = Resolver(template.data)
    globals_ = template.data.get("Globals") if template.data is not None else None
    found = globals_.get("Function") if isinstance(globals_, dict) else None
    defaults: dict[str, Any] = found if isinstance(found, dict) else {}
    here = posixpath.dirname(template.relpath)
    globs: list[str] = []
    for body in template.resources.values():
        kind = body.get("Type") if isinstance(body, dict) else None
        if kind not in _CODE_CARRIERS:
            continue
        given, notes = body.get("Properties"), body.get("Metadata")
        properties: dict[str, Any] = given if isinstance(given, dict) else {}
        metadata: dict[str, Any] = notes if isinstance(notes, dict) else {}
        code: Any
        runtimes: list[Any]
        if properties.get("PackageType", defaults.get("PackageType")) == "Image":
            # A container image function: its build context is the code (any language).
            code, runtimes = metadata.get("DockerContext"), [None]
        elif kind == "AWS::Serverless::Function":
            code = properties.get("CodeUri", defaults.get("CodeUri"))
            runtimes = [properties.get("Runtime", defaults.get("Runtime"))]
        elif kind == "AWS::Lambda::Function":
            # A local path before `aws cloudformation package` uploads it (Code: src/).
            local = properties.get("Code")
            code, runtimes = (None if isinstance(local, dict) else local), [properties.get("Runtime")]
        else:
            code, listed = properties.get("ContentUri"), properties.get("CompatibleRuntimes")
            runtimes = listed if isinstance(listed, list) and listed else [None]
        families = set()
        for runtime in runtimes:
            values = resolver.resolve(runtime) if runtime is not None else []
            known = [
                next((f for f in _RUNTIME_SOURCES if isinstance(v, str) and v.startswith(f)), None) for v in values
            ]
            # A runtime nothing resolves (or another language's) counts every language's files.
            families |= {f for f in known if f} if values and all(known) else set(_RUNTIME_SOURCES)
        for folder in _code_folders(code, here, resolver):
            prefix = "" if folder == "." else folder + "/"
            globs += [prefix + pattern for family in sorted(families) for pattern in _RUNTIME_SOURCES[family]]
    return tuple(dict.fromkeys(globs))


def _code_folders(code: Any, here: str, resolver: Any) -> list[str]:
    """The root-relative folders a CodeUri can name (local paths only)."""
    folders = []
    for value in resolver.resolve(code) if code is not None else []:
        if not isinstance(value, str) or "://" in value or value.endswith((".zip", ".jar")):
            continue
        folder = posixpath.normpath(posixpath.join(here, value))
        if not (folder == ".." or folder.startswith("../") or posixpath.isabs(folder)):
            folders.append(folder)
    return folders
