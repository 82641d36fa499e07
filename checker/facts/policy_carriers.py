"""Which resource properties hold an IAM policy document, and of what kind.

The CloudFormation schemas cfn-lint ships do not mark policy documents. This
table classifies every property whose name contains ``Polic`` in them: an
IAM policy (``identity``: what a principal may do; ``resource``: who may use
this resource; ``trust``: who may assume this role; ``endpoint``: what may be
done through a VPC endpoint, whose ``Principal: "*"`` is every caller inside
the network, not the public), or not an IAM policy,
with the reason. ``tests/facts/policy_carriers_test.py`` walks the schemas
and fails on any property the table does not classify, so a new resource
type cannot arrive unread. Paths are dotted, ``*`` standing for a list's items.
"""

from __future__ import annotations

import re
from typing import Literal

Kind = Literal["identity", "resource", "trust", "endpoint"]

# Every property that holds an IAM policy document (JSON text or a mapping).
CARRIERS: dict[tuple[str, str], Kind] = {
    ("AWS::IAM::Role", "AssumeRolePolicyDocument"): "trust",
    ("AWS::IAM::Role", "Policies.*.PolicyDocument"): "identity",
    ("AWS::IAM::User", "Policies.*.PolicyDocument"): "identity",
    ("AWS::IAM::Group", "Policies.*.PolicyDocument"): "identity",
    ("AWS::IAM::Policy", "PolicyDocument"): "identity",
    ("AWS::IAM::ManagedPolicy", "PolicyDocument"): "identity",
    ("AWS::IAM::RolePolicy", "PolicyDocument"): "identity",
    ("AWS::IAM::UserPolicy", "PolicyDocument"): "identity",
    ("AWS::IAM::GroupPolicy", "PolicyDocument"): "identity",
    # Session policies and policies attached to other kinds of principal.
    ("AWS::SSO::PermissionSet", "InlinePolicy"): "identity",
    ("AWS::IoT::Policy", "PolicyDocument"): "identity",
    ("AWS::EKS::PodIdentityAssociation", "Policy"): "identity",
    ("AWS::RolesAnywhere::Profile", "SessionPolicy"): "identity",
    ("AWS::Transfer::User", "Policy"): "identity",
    # Resource policies.
    ("AWS::S3::BucketPolicy", "PolicyDocument"): "resource",
    ("AWS::S3::AccessPoint", "Policy"): "resource",
    ("AWS::S3::MultiRegionAccessPointPolicy", "Policy"): "resource",
    ("AWS::S3Express::AccessPoint", "Policy"): "resource",
    ("AWS::S3Express::BucketPolicy", "PolicyDocument"): "resource",
    ("AWS::S3Files::FileSystemPolicy", "Policy"): "resource",
    ("AWS::S3ObjectLambda::AccessPointPolicy", "PolicyDocument"): "resource",
    ("AWS::S3Outposts::AccessPoint", "Policy"): "resource",
    ("AWS::S3Outposts::BucketPolicy", "PolicyDocument"): "resource",
    ("AWS::S3Tables::TableBucketPolicy", "ResourcePolicy"): "resource",
    ("AWS::S3Tables::TablePolicy", "ResourcePolicy"): "resource",
    ("AWS::S3Vectors::VectorBucketPolicy", "Policy"): "resource",
    ("AWS::SQS::QueuePolicy", "PolicyDocument"): "resource",
    ("AWS::SQS::QueueInlinePolicy", "PolicyDocument"): "resource",
    ("AWS::SNS::TopicPolicy", "PolicyDocument"): "resource",
    ("AWS::SNS::TopicInlinePolicy", "PolicyDocument"): "resource",
    ("AWS::KMS::Key", "KeyPolicy"): "resource",
    ("AWS::KMS::ReplicaKey", "KeyPolicy"): "resource",
    ("AWS::SecretsManager::ResourcePolicy", "ResourcePolicy"): "resource",
    ("AWS::ECR::Repository", "RepositoryPolicyText"): "resource",
    ("AWS::ECR::PublicRepository", "RepositoryPolicyText"): "resource",
    ("AWS::ECR::RegistryPolicy", "PolicyText"): "resource",
    ("AWS::ECR::RepositoryCreationTemplate", "RepositoryPolicy"): "resource",
    ("AWS::Logs::ResourcePolicy", "PolicyDocument"): "resource",
    ("AWS::Logs::LogGroup", "ResourcePolicyDocument"): "resource",
    ("AWS::Logs::Destination", "DestinationPolicy"): "resource",
    ("AWS::Logs::DeliveryDestination", "DeliveryDestinationPolicy.DeliveryDestinationPolicy"): "resource",
    ("AWS::ApiGateway::RestApi", "Policy"): "resource",
    ("AWS::ApiGateway::DomainNameV2", "Policy"): "resource",
    ("AWS::OpenSearchService::Domain", "AccessPolicies"): "resource",
    ("AWS::Elasticsearch::Domain", "AccessPolicies"): "resource",
    ("AWS::Events::EventBus", "Policy"): "resource",
    ("AWS::EventsV2::ResourcePolicy", "PolicyDocument"): "resource",
    ("AWS::EventSchemas::RegistryPolicy", "Policy"): "resource",
    ("AWS::Lambda::ResourcePolicy", "PolicyDocument"): "resource",
    ("AWS::DynamoDB::Table", "ResourcePolicy.PolicyDocument"): "resource",
    ("AWS::DynamoDB::Table", "StreamSpecification.ResourcePolicy.PolicyDocument"): "resource",
    ("AWS::DynamoDB::GlobalTable", "Replicas.*.ResourcePolicy.PolicyDocument"): "resource",
    ("AWS::DynamoDB::GlobalTable", "Replicas.*.ReplicaStreamSpecification.ResourcePolicy.PolicyDocument"): "resource",
    ("AWS::Kinesis::ResourcePolicy", "ResourcePolicy"): "resource",
    ("AWS::EFS::FileSystem", "FileSystemPolicy"): "resource",
    ("AWS::FSx::S3AccessPointAttachment", "S3AccessPoint.Policy"): "resource",
    ("AWS::Backup::BackupVault", "AccessPolicy"): "resource",
    ("AWS::Backup::LogicallyAirGappedBackupVault", "AccessPolicy"): "resource",
    ("AWS::CloudTrail::ResourcePolicy", "ResourcePolicy"): "resource",
    ("AWS::CodeArtifact::Domain", "PermissionsPolicyDocument"): "resource",
    ("AWS::CodeArtifact::Repository", "PermissionsPolicyDocument"): "resource",
    ("AWS::EC2::VPCEndpoint", "PolicyDocument"): "endpoint",
    ("AWS::ODB::OdbNetwork", "KmsPolicyDocument"): "endpoint",
    ("AWS::ODB::OdbNetwork", "S3PolicyDocument"): "endpoint",
    ("AWS::ODB::OdbNetwork", "StsPolicyDocument"): "endpoint",
    ("AWS::ODB::OdbNetwork", "ManagedServices.KmsAccess.KmsPolicyDocument"): "endpoint",
    ("AWS::ODB::OdbNetwork", "ManagedServices.S3Access.S3PolicyDocument"): "endpoint",
    ("AWS::ODB::OdbNetwork", "ManagedServices.StsAccess.StsPolicyDocument"): "endpoint",
    ("AWS::MSK::ClusterPolicy", "Policy"): "resource",
    ("AWS::MediaPackageV2::ChannelPolicy", "Policy"): "resource",
    ("AWS::MediaPackageV2::OriginEndpointPolicy", "Policy"): "resource",
    ("AWS::MediaStore::Container", "Policy"): "resource",
    ("AWS::MediaTailor::ChannelPolicy", "Policy"): "resource",
    ("AWS::Lex::ResourcePolicy", "Policy"): "resource",
    ("AWS::SSM::ResourcePolicy", "Policy"): "resource",
    ("AWS::SageMaker::ModelPackageGroup", "ModelPackageGroupPolicy"): "resource",
    ("AWS::Redshift::Cluster", "NamespaceResourcePolicy"): "resource",
    ("AWS::RedshiftServerless::Namespace", "NamespaceResourcePolicy"): "resource",
    ("AWS::RUM::AppMonitor", "ResourcePolicy.PolicyDocument"): "resource",
    ("AWS::OSIS::Pipeline", "ResourcePolicy.Policy"): "resource",
    ("AWS::Oam::Sink", "Policy"): "resource",
    ("AWS::Omics::SequenceStore", "S3AccessPolicy"): "resource",
    ("AWS::PaymentCryptography::Key", "Policy"): "resource",
    ("AWS::RAM::Permission", "PolicyTemplate"): "resource",
    ("AWS::SMSVOICE::ResourcePolicy", "PolicyDocument"): "resource",
    ("AWS::VpcLattice::AuthPolicy", "Policy"): "resource",
    ("AWS::VpcLattice::ResourcePolicy", "Policy"): "resource",
    ("AWS::XRay::ResourcePolicy", "PolicyDocument"): "resource",
    ("AWS::APS::ResourcePolicy", "PolicyDocument"): "resource",
    ("AWS::AIOps::InvestigationGroup", "InvestigationGroupPolicy"): "resource",
    ("AWS::Bedrock::KnowledgeBasePolicy", "PolicyDocument"): "resource",
    ("AWS::Bedrock::ResourcePolicy", "PolicyDocument"): "resource",
    ("AWS::BedrockAgentCore::ResourcePolicy", "Policy"): "resource",
    ("AWS::Comprehend::DocumentClassifier", "ModelPolicy"): "resource",
    ("AWS::Comprehend::EntityRecognizer", "ModelPolicy"): "resource",
    ("AWS::DSQL::Cluster", "PolicyDocument"): "resource",
}

# Free-form properties named like policies that are not IAM: the reason.
NOT_IAM: dict[str, str] = {
    "SecurityPolicy": "a TLS security policy name",
    "TLSSecurityPolicy": "a TLS security policy name",
    "SslPolicy": "a TLS security policy name",
    "TlsPolicy": "a TLS requirement",
    "HttpsPolicy": "an HTTPS requirement",
    "ViewerProtocolPolicy": "a CloudFront protocol setting",
    "OriginProtocolPolicy": "a CloudFront protocol setting",
    "ProtocolPolicy": "a protocol setting",
    "ContentSecurityPolicy": "an HTTP Content-Security-Policy header value",
    "ReferrerPolicy": "an HTTP Referrer-Policy header value",
    "ImagePullPolicy": "a Kubernetes image pull setting",
    "DnsPolicy": "a Kubernetes DNS setting",
    "DeletionPolicy": "a CloudFormation deletion setting",
    "UpdateReplacePolicy": "a CloudFormation replacement setting",
    "DataDeletionPolicy": "a data retention setting",
    "DeletePropagationPolicy": "a deletion setting",
    "FSxLustreDeletionPolicy": "a deletion setting",
    "AnswerPolicy": "a model answering setting",
    "ScalingPolicyUpdateBehavior": "an autoscaling setting",
    "ExcessCapacityTerminationPolicy": "a fleet capacity setting",
    "BackupPolicy": "a backup setting",
    "SafeguardPolicy": "a database replication setting",
    "DefaultPolicy": "a lifecycle policy kind",
    "PolicyLanguage": "a lifecycle policy kind",
    "PolicyRuntime": "an AWS Config Guard runtime",
    "LifecyclePolicy": "lifecycle rules, not IAM",
    "LifecyclePolicyText": "lifecycle rules, not IAM",
    "AutoImportPolicy": "an import setting",
    "SnapshotPolicy": "a snapshot schedule name",
    "NewGameSessionProtectionPolicy": "a game session setting",
    "GameServerProtectionPolicy": "a game server setting",
    "FailureHandlingPolicy": "a deployment setting",
    "ActionFailurePolicy": "a mail rule setting",
    "ArnForPolicy": "an ARN to use in policies, not a policy",
    "AccessPolicyPermission": "an IoT SiteWise permission level",
    "DlRatePolicy": "a LoRaWAN rate setting",
    "UlRatePolicy": "a LoRaWAN rate setting",
    "UserContextPolicy": "a Kendra user context setting",
    "LanguageSelectionPolicy": "a media language setting",
    "FillPolicy": "a media ad-fill setting",
    "StreamExceptionPolicy": "a network firewall setting",
    "ScriptCachingPolicy": "a node lifecycle setting",
    "ExecutionPolicy": "a node lifecycle setting",
    "PermissionPolicy": "a QuickSight row-level GRANT/DENY setting",
    "ReputationEntityPolicy": "an SES reputation policy ARN",
    "DeliveryPolicy": "SNS delivery retries",
    "FilterPolicy": "SNS message filtering",
    "FilterPolicyScope": "SNS message filtering",
    "RedrivePolicy": "a dead-letter setting",
    "ReplayPolicy": "SNS message replay",
    "ArchivePolicy": "SNS message archiving",
    "DataProtectionPolicy": "a data protection policy (its own grammar), not IAM",
    "RedriveAllowPolicy": "which queues may use this one as a dead-letter queue, not IAM",
    "RoutingPolicy": "a DNS routing setting",
    "NotificationPolicy": "a storage gateway notification setting",
    "WebAppEndpointPolicy": "an endpoint kind (FIPS or standard)",
    "BrowserPolicy": "a WorkSpaces browser policy (Chrome settings), not IAM",
}

# Properties a type uses with a meaning of its own, where NOT_IAM's reason
# for the name would mislead.
NOT_IAM_AT: dict[tuple[str, str], str] = {
    ("AWS::EC2::ClientVpnEndpoint", "AuthorizationPolicy.PolicyDocument"): "a Client VPN authorization policy",
    ("AWS::EC2::VerifiedAccessEndpoint", "PolicyDocument"): "a Verified Access policy (Cedar), not IAM",
    ("AWS::EC2::VerifiedAccessGroup", "PolicyDocument"): "a Verified Access policy (Cedar), not IAM",
    ("AWS::Logs::AccountPolicy", "PolicyDocument"): "a CloudWatch Logs account policy (data protection, subscription)",
    ("AWS::NetworkManager::CoreNetwork", "PolicyDocument"): "a Cloud WAN core network policy",
    ("AWS::OpenSearchServerless::AccessPolicy", "Policy"): "an OpenSearch Serverless data access policy",
    ("AWS::OpenSearchServerless::LifecyclePolicy", "Policy"): "an OpenSearch Serverless lifecycle policy",
    ("AWS::OpenSearchServerless::SecurityPolicy", "Policy"): "an OpenSearch Serverless encryption or network policy",
    ("AWS::IVS::Channel", "MultitrackInputConfiguration.Policy"): "a multitrack input setting",
    ("AWS::SES::ReceiptFilter", "Filter.IpFilter.Policy"): "allow or block an IP range",
    ("AWS::SSM::Parameter", "Policies"): "parameter policies (expiration, notification), not IAM",
    ("AWS::Config::ConfigRule", "Source.CustomPolicyDetails.PolicyText"): "an AWS Config Guard rule, not IAM",
    (
        "AWS::Config::OrganizationConfigRule",
        "OrganizationCustomPolicyRuleMetadata.PolicyText",
    ): "an AWS Config Guard rule",
}

# What a name says of itself: a reference to a policy, a flag, a number.
_REFERENCE = re.compile(
    r"(Name|Names|Arn|Arns|Id|Ids|Identifier|Identifiers|Type|Types|Status|Enabled|Description|Label|Labels"
    r"|RuleNumber|Number|Count|InMinutes|Version|Mode|Hash)$"
)


def classify(resource_type: str, path: str, shape: str = "") -> tuple[str, str]:
    """(kind, reason) of a property: ``identity``, ``resource``, ``trust`` or
    ``endpoint`` for an IAM policy document, ``not-iam`` otherwise; ``unknown`` when the
    table does not say (a test refuses that). ``shape`` is the schema's
    ``object`` (structured), ``list``, ``scalar`` or "" (free-form)."""
    kind = CARRIERS.get((resource_type, path))
    if kind is not None:
        return kind, "an IAM policy document"
    if (resource_type, path) in NOT_IAM_AT:
        return "not-iam", NOT_IAM_AT[(resource_type, path)]
    name = path.rsplit(".", 1)[-1]
    if _REFERENCE.search(name):
        return "not-iam", "names, identifies or describes a policy: not a document"
    if shape == "object":
        return "not-iam", "a structured setting of the service (named fields, not a policy document)"
    if shape == "list":
        return "not-iam", "a list (its items are classified on their own)"
    if shape == "scalar":
        return "not-iam", "a flag or a number"
    if name in NOT_IAM:
        return "not-iam", NOT_IAM[name]
    return "unknown", "not classified"
