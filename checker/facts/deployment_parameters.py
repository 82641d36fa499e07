"""The values a team deploys its templates' parameters with.

Two kinds of file say so, and both are read:

- SAM CLI configuration (``samconfig.toml``, ``samconfig.yaml``,
  ``samconfig.yml``): every environment's ``parameter_overrides``, for any
  command (``deploy``, ``sync``, ``global``...). It applies to the templates
  in its folder and below, as ``sam`` run in that folder would use it.
- CloudFormation parameter files: JSON as the AWS CLI takes it
  (``[{"ParameterKey": ..., "ParameterValue": ...}]``) or as CodePipeline's
  template configuration writes it (``{"Parameters": {...}}``), anywhere in
  the checked paths. One applies to every template that declares a key it
  sets (``aws cloudformation deploy`` and SAM CLI pass only the declared
  keys, so a file with extra keys still deploys its values).

Values only ever add to what a parameter can be (its default and allowed
values are judged too); a parameter with no value anywhere stays unknown.
The files are team inputs like any other: they must be committed, and the
report lists each with its digest.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from checker.errors import InputError
from checker.loaders.limits import MAX_FILE_BYTES

SAMCONFIG_NAMES = ("samconfig.toml", "samconfig.yaml", "samconfig.yml")
# Enough to tell a parameter file from other JSON without parsing it (a key
# written with escapes is parsed to be sure).
_JSON_MARKERS = (b'"ParameterKey"', b'"Parameters"', b"\\u")
# SAM CLI also takes its overrides in the AWS CLI's long form.
_LONG_FORM = re.compile(r"ParameterKey=([^,]*),ParameterValue=(.*)", re.S)


@dataclass(frozen=True, slots=True)
class ParameterSet:
    """One set of values a template is deployed with, and where it is written."""

    origin: str  # "samconfig.toml [prod.deploy]", "params/prod.json"
    values: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class ParameterFile:
    relpath: str
    sha256: str
    kind: str  # "samconfig" or "cloudformation"
    sets: tuple[ParameterSet, ...]

    @property
    def folder(self) -> str:
        parent = str(PurePosixPath(self.relpath).parent)
        return "" if parent == "." else parent


@dataclass(frozen=True, slots=True)
class DeploymentParameters:
    """Every parameter file found for one run."""

    files: tuple[ParameterFile, ...] = ()

    def digest(self) -> str:
        """Changes whenever any file's content does (the result cache keys on it)."""
        text = "\0".join(f"{f.relpath}\0{f.sha256}" for f in self.files)
        return hashlib.sha256(text.encode()).hexdigest()

    def values_for(self, relpath: str, declared: Iterable[str]) -> dict[str, tuple[tuple[str, str], ...]]:
        """Each declared parameter's values from the files that apply to the
        template at ``relpath``, with where each comes from."""
        names = set(declared)
        folder = str(PurePosixPath(relpath).parent)
        found: dict[str, list[tuple[str, str]]] = {}
        for file in self.files:
            if file.kind == "samconfig":
                applies = file.folder == "" or folder == file.folder or folder.startswith(file.folder + "/")
            else:
                applies = any(name in names for s in file.sets for name, _ in s.values)
            if not applies:
                continue
            for parameter_set in file.sets:
                for name, value in parameter_set.values:
                    if name in names and (value, parameter_set.origin) not in found.get(name, []):
                        found.setdefault(name, []).append((value, parameter_set.origin))
        return {name: tuple(values) for name, values in found.items()}

    def describe(self) -> list[dict[str, str]]:
        return [{"path": f.relpath, "sha256": f.sha256, "kind": f.kind} for f in self.files]


def _read(path: Path, relpath: str) -> bytes:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InputError(f"over the {MAX_FILE_BYTES}-byte limit: not read as a parameter file", path=relpath)
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read parameter file: {exc.strerror}", path=relpath) from None


def _text(raw: bytes, relpath: str) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 (byte {exc.start})", path=relpath) from None


def _overrides(value: Any, relpath: str, where: str) -> tuple[tuple[str, str], ...]:
    """``parameter_overrides`` as SAM CLI reads it: one string of
    shell-quoted ``Key=Value`` pairs, or a list of them."""
    if isinstance(value, str):
        try:
            tokens = shlex.split(value)
        except ValueError as exc:
            raise InputError(f"{where}.parameter_overrides: {exc}", path=relpath, field="parameter_overrides") from None
    elif isinstance(value, list) and all(isinstance(item, str) for item in value):
        tokens = list(value)
    else:
        raise InputError(
            f"{where}.parameter_overrides must be a string or a list of strings",
            path=relpath,
            field="parameter_overrides",
        )
    pairs = []
    for token in tokens:
        long_form = _LONG_FORM.fullmatch(token)
        if long_form:
            pairs.append((long_form.group(1), long_form.group(2)))
            continue
        key, sep, text = token.partition("=")
        if not sep or not key:
            raise InputError(
                f"{where}.parameter_overrides: {token!r} is not Key=Value", path=relpath, field="parameter_overrides"
            )
        pairs.append((key, text))
    return tuple(pairs)


def parse_samconfig(raw: bytes, relpath: str) -> tuple[ParameterSet, ...]:
    text = _text(raw, relpath)
    try:
        if relpath.endswith(".toml"):
            data: Any = tomllib.loads(text)
        else:
            from checker.loaders import load_text

            data = load_text(text, relpath)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"not valid TOML: {exc}", path=relpath) from None
    if not isinstance(data, Mapping):
        raise InputError("a SAM configuration file must be a table of environments", path=relpath)
    sets = []
    name = PurePosixPath(relpath).name
    for env, commands in data.items():
        if env == "version" or not isinstance(commands, Mapping):
            continue
        for command, section in commands.items():
            parameters = section.get("parameters") if isinstance(section, Mapping) else None
            if isinstance(parameters, Mapping) and "parameter_overrides" in parameters:
                where = f"{env}.{command}"
                values = _overrides(parameters["parameter_overrides"], relpath, where)
                sets.append(ParameterSet(f"{name} [{where}]", values))
    return tuple(sets)


def parse_parameter_json(raw: bytes, relpath: str) -> ParameterSet | None:
    """A CloudFormation parameter file's values; None for JSON of another shape."""
    if not any(marker in raw for marker in _JSON_MARKERS):
        return None
    try:
        data = json.loads(_text(raw, relpath))
    except (ValueError, RecursionError):
        return None  # not JSON: whatever it is, the template loader reports it
    pairs: list[tuple[str, str]] = []
    if isinstance(data, list) and data and all(isinstance(i, dict) and "ParameterKey" in i for i in data):
        for item in data:
            key, value = item.get("ParameterKey"), item.get("ParameterValue")
            if item.get("UsePreviousValue") is True and value is None:
                continue  # the deployed value stays: nothing the repository says
            if not isinstance(key, str) or not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise InputError(
                    f"parameter {key!r}: ParameterKey must be a string and ParameterValue a string",
                    path=relpath,
                    field="ParameterValue",
                )
            pairs.append((key, str(value)))
    elif isinstance(data, dict) and isinstance(data.get("Parameters"), dict) and "Resources" not in data:
        for key, value in data["Parameters"].items():
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                return None  # a template's Parameters section, or another format
            pairs.append((str(key), str(value)))
    else:
        return None
    return ParameterSet(PurePosixPath(relpath).as_posix(), tuple(pairs))


def collect(root: Path, templates: Sequence[str], json_files: Sequence[tuple[Path, str]]) -> DeploymentParameters:
    """The parameter files for a run: SAM configurations in the templates'
    folders and the folders above them (up to ``root``), and the JSON files
    among ``json_files`` that are CloudFormation parameter files."""
    files: dict[str, ParameterFile] = {}
    folders: set[str] = set()
    for relpath in templates:
        folder = relpath
        while "/" in folder:
            folder = folder.rsplit("/", 1)[0]
            if folder in folders:
                break
            folders.add(folder)
    folders.add("")
    # One listing per folder (a few thousand in a monorepo), not a stat per name.
    for folder in sorted(folders):
        try:
            present = set(os.listdir(root / folder)) & set(SAMCONFIG_NAMES)
        except OSError:
            continue
        for name in sorted(present):
            relpath = f"{folder}/{name}" if folder else name
            path = root / relpath
            if path.is_file():
                raw = _read(path, relpath)
                digest = hashlib.sha256(raw).hexdigest()
                files[relpath] = ParameterFile(relpath, digest, "samconfig", parse_samconfig(raw, relpath))
    for path, relpath in json_files:
        if relpath in files:
            continue
        raw = _read(path, relpath)
        found = parse_parameter_json(raw, relpath)
        if found is not None:
            files[relpath] = ParameterFile(relpath, hashlib.sha256(raw).hexdigest(), "cloudformation", (found,))
    return DeploymentParameters(tuple(files[k] for k in sorted(files)))
