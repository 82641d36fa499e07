"""The rule registry: built-in rules and an organization's own, by id.

A rules folder holds one rule a file, in subfolders by area if it likes:
``*.yaml``/``*.yml`` files are declarative rules, ``*.py`` files are Python
rules that define a module-level ``RULE`` object with ``meta`` and
``evaluate``. The built-in catalogue (``rules/`` in the repository) is loaded
the same way as ``--rules DIR``. Nothing registers itself on import; a
duplicate id or a malformed rule stops the run with the file named.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from checker.declarative import load_declarative_rule
from checker.errors import InputError, RuleDefinitionError
from checker.loaders import read_text
from checker.ruleapi import Facts, Finding, Rule, RuleMeta
from checker.rulecheck import meta_problems

Registry = dict[str, Rule]


class _PythonRule:
    """A rule from a Python file, with its metadata stamped with that file."""

    def __init__(self, rule: Rule, meta: RuleMeta) -> None:
        self.meta = meta
        self._rule = rule

    def evaluate(self, facts: Facts, params: Mapping[str, Any]) -> Iterable[Finding]:
        return self._rule.evaluate(facts, params)


def builtin_rules_dir() -> Path:
    """Where the built-in catalogue is: packaged as ``checker/builtin_rules``
    in an installed wheel, ``rules/`` beside the package in a source tree."""
    here = Path(__file__).resolve().parent
    packaged = here / "builtin_rules"
    return packaged if packaged.is_dir() else here.parent / "rules"


def _load_python_rule(file: Path, display: str, source: bytes) -> Rule:
    """Import a rule module from ``source``, the bytes already read (and
    digested): what runs is exactly what the report names by digest."""
    # A unique module name per file, so two folders may both have iam.py.
    name = "checker_rule_" + hashlib.sha256(str(file).encode()).hexdigest()[:16]
    spec = importlib.util.spec_from_loader(name, loader=None, origin=str(file))
    if spec is None:
        raise RuleDefinitionError("cannot load as a Python module", path=display)
    module = importlib.util.module_from_spec(spec)
    module.__file__ = str(file)
    try:
        sys.modules[name] = module
        code = compile(source, str(file), "exec")
        exec(code, module.__dict__)  # importing a rule module: the organization's code, by design
    except Exception as exc:
        raise RuleDefinitionError(f"rule module failed to import: {type(exc).__name__}: {exc}", path=display) from None
    rule = getattr(module, "RULE", None)
    meta = getattr(rule, "meta", None)
    if not isinstance(meta, RuleMeta) or not callable(getattr(rule, "evaluate", None)):
        raise RuleDefinitionError(
            "a Python rule module must define RULE with a RuleMeta `meta` and an `evaluate` method",
            path=display,
        )
    _check_meta(meta, display)
    return _PythonRule(rule, replace(meta, source=display))  # type: ignore[arg-type]


def _check_meta(meta: RuleMeta, display: str) -> None:
    problems = meta_problems(meta)
    if problems:
        message = "; ".join(f"{field}: {problem}" for field, problem in problems)
        raise RuleDefinitionError(message, path=display, field=f"RULE.meta.{problems[0][0]}")


def load_folder(folder: Path, label: str, expected: Mapping[str, str] | None = None) -> list[Rule]:
    """Load every rule file below ``folder``; ``label`` prefixes displayed
    paths. Each file is read once: the bytes parsed (or imported) are the
    bytes digested, and with ``expected`` (a verified bundle's manifest:
    relative path -> sha256) they must be the ones it lists."""
    if not folder.is_dir():
        raise RuleDefinitionError("rules folder not found", path=str(folder))
    rules: list[Rule] = []
    for file in sorted(folder.rglob("*")):
        if not file.is_file() or "__pycache__" in file.parts or file.name.startswith(("_", ".")):
            continue
        relpath = file.relative_to(folder).as_posix()
        display = f"{label}/{relpath}"
        if file.suffix not in (".yaml", ".yml", ".py"):
            continue
        try:
            raw, _ = read_text(file, display)  # bounded in size, as every input
        except InputError as exc:
            raise RuleDefinitionError(exc.message, path=display) from None
        digest = hashlib.sha256(raw).hexdigest()
        if expected is not None and expected.get(relpath) != digest:
            why = "is not the file the verified policy bundle lists (changed on disk?)"
            raise RuleDefinitionError(why, path=display)
        rule: Rule
        if file.suffix == ".py":
            rule = _load_python_rule(file, display, raw)
        else:
            rule = load_declarative_rule(file, display, raw)
        # The report names each rule's file by digest, so that a rule given
        # with --rules cannot pass for the organization's own unnoticed.
        rule.meta = replace(rule.meta, source_sha256=digest)
        rules.append(rule)
    return rules


def load_registry(
    extra_folders: Iterable[Path] = (), labelled: Iterable[tuple[Path, str, Mapping[str, str] | None]] = ()
) -> Registry:
    """Built-in rules, then each ``labelled`` folder's (a verified policy
    bundle's rules, named by the bundle), then each extra folder's; ids must
    be unique across all."""
    registry: Registry = {}
    folders: list[tuple[Path, str, Mapping[str, str] | None]] = [(builtin_rules_dir(), "rules", None)]
    folders += [*labelled, *((Path(f), str(f), None) for f in extra_folders)]
    for folder, label, expected in folders:
        for rule in load_folder(folder, label, expected):
            existing = registry.get(rule.meta.id)
            if existing is not None:
                raise RuleDefinitionError(
                    f"rule id {rule.meta.id} is already defined in {existing.meta.source}",
                    path=rule.meta.source or label,
                    field="id",
                )
            registry[rule.meta.id] = rule
    return dict(sorted(registry.items()))
