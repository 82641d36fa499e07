"""TPL003: a template deploys content that is not in it, and so was not judged."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from checker.ruleapi import Facts, Finding, Param, RuleMeta, finding_for, listed

_WHAT = {
    "nested-stack": "a nested stack whose template is at",
    "serverless-application": "a Serverless Application Repository application",
    "stackset": "a StackSet (deployed into other accounts) whose template is",
    "service-catalog-product": "a Service Catalog product",
    "include": "content AWS::Include fetches from",
    "macro": "the output of the macro",
}


class ExternalContent:
    meta = RuleMeta(
        id="TPL003",
        title="Template deploys content that is not in it, and was not judged",
        severity="high",
        tags=("template",),
        views=("external_content",),
        rationale=(
            "A nested stack at an S3 URL, a Serverless Application Repository application, a "
            "StackSet's template, a Service Catalog product, an `AWS::Include` or a custom macro "
            "is fetched or generated when CloudFormation deploys; checker reads the template in "
            "the repository, so whatever that content grants (an administrator role, a public "
            "bucket) passes every other rule unseen. This rule says so, so that nothing passes by "
            "omission. Nested stacks whose template is a local file (packaged by `sam package` or "
            "`aws cloudformation package`) and CDK's nested stack assets are judged as files and "
            "not reported."
        ),
        judges=(
            "Every template: AWS::CloudFormation::Stack with a remote or computed TemplateURL, "
            "AWS::Serverless::Application, AWS::CloudFormation::StackSet, "
            "AWS::ServiceCatalog::CloudFormationProvisionedProduct, Fn::Transform anywhere, and "
            "top-level transforms other than AWS::Serverless-2016-10-31 and "
            "AWS::LanguageExtensions."
        ),
        remediation=(
            "Keep the nested template in the repository and reference it by its path (it is then "
            "judged, and `package` uploads it), or check the remote content where it is built. "
            "Locations the organization vouches for (its own blueprint bucket) can be listed in "
            "`allowed_locations`."
        ),
        params=(
            Param(
                "allowed_locations",
                "string_list",
                [],
                "locations (globs: URLs, application ids, macro names) whose content the organization judges itself",
                tighter="fewer",
            ),
        ),
        example_fail=(
            "Resources:\n  Shared:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n"
            "      TemplateURL: https://example-bucket.s3.amazonaws.com/shared/admin.yaml\n"
        ),
        example_pass=(
            "Resources:\n  Shared:\n    Type: AWS::CloudFormation::Stack\n    Properties:\n"
            "      TemplateURL: nested/shared.yaml\n"
        ),
        references=(
            "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-nested-stacks.html",
            "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/template-macros.html",
        ),
    )

    def evaluate(self, facts: Facts, params: Mapping[str, Any]) -> Iterator[Finding]:
        allowed = params["allowed_locations"]
        for record in facts.view("external_content"):
            location = str(record["location"])
            if listed(location, allowed):
                continue
            yield finding_for(
                record,
                f"deploys {_WHAT[record['kind']]} {location}: that content is not in the repository and was not judged",
                element=f"{record['kind']} {location}",
            )


RULE = ExternalContent()
