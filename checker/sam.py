"""SAM expansion through aws-sam-translator, offline.

Imported only when a rule asks for translated resources: the translator
takes about a second to import. It runs with the managed-policy table it
ships and a fixed region, so it never reaches the network.
"""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from importlib import resources as importlib_resources
from typing import Any

from checker.errors import InputError
from checker.templates import Template

# Local code locations are replaced by a placeholder S3 location: the
# translator only accepts S3 URIs, and the code itself does not matter here.
_CODE_PROPERTIES = {
    "AWS::Serverless::Function": "CodeUri",
    "AWS::Serverless::LayerVersion": "ContentUri",
    "AWS::Serverless::Api": "DefinitionUri",
    "AWS::Serverless::HttpApi": "DefinitionUri",
    "AWS::Serverless::StateMachine": "DefinitionUri",
}
_PLACEHOLDER = {"Bucket": "checker-placeholder", "Key": "placeholder"}


class _OfflineSession:
    """What the translator reads from a boto3 session, without boto3."""

    region_name = "us-east-1"


def _plain(value: Any) -> Any:
    return json.loads(json.dumps(value))


def _prepare(data: Any) -> dict[str, Any]:
    template: dict[str, Any] = _plain(data)
    for body in (template.get("Resources") or {}).values():
        if not isinstance(body, dict):
            continue
        prop = _CODE_PROPERTIES.get(body.get("Type", ""))
        props = body.get("Properties")
        if prop and isinstance(props, dict):
            if body["Type"] == "AWS::Serverless::Function" and props.get("PackageType") == "Image":
                props.setdefault("ImageUri", "123456789012.dkr.ecr.us-east-1.amazonaws.com/placeholder:latest")
            elif (prop in props and isinstance(props[prop], str) and not props[prop].startswith("s3://")) or (
                prop not in props
                and body["Type"] in ("AWS::Serverless::Function", "AWS::Serverless::LayerVersion")
                and "InlineCode" not in props
            ):
                props[prop] = copy.deepcopy(_PLACEHOLDER)
    return template


def expand(template: Template) -> Template:
    """The translated template; InputError naming the template when SAM rejects it."""
    from samtranslator.model.exceptions import InvalidDocumentException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    policies_file = importlib_resources.files("samtranslator") / "internal" / "data" / "aws_managed_policies.json"
    managed = json.loads(policies_file.read_text(encoding="utf-8")).get("aws", {})
    translator = Translator(managed_policy_map=managed, sam_parser=Parser(), boto_session=_OfflineSession())
    try:
        output = translator.translate(
            sam_template=_prepare(template.data), parameter_values={}, passthrough_metadata=True
        )
    except InvalidDocumentException as exc:
        causes = "; ".join(str(getattr(c, "message", c)) for c in exc.causes)
        raise InputError(f"SAM transform failed: {causes}", path=template.relpath) from None
    except Exception as exc:  # the translator raises many kinds; all mean "cannot expand"
        raise InputError(f"SAM transform failed: {exc}", path=template.relpath) from None
    from checker.loaders.nodes import LineDict

    data = LineDict(1)
    data.update(output)
    return replace(template, kind="cloudformation", data=data)
