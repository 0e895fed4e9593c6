"""Stage 2: create the translated stack on moto, strictly.

moto's CloudFormation creates the resource types it knows, skips the others
and silently drops properties it does not handle, and still reports
CREATE_COMPLETE. So this module is a *strict adapter*: :data:`CARRY` says, for
every resource type and every property the rehearsal accepts, how it reaches
the emulated services:

- ``moto``: moto's CloudFormation creates it; verified on read-back;
- ``adapter``: the adapter creates or (re)applies it through the service's API
  (before the stack when other resources refer to it, otherwise after), and it
  is verified on read-back like the rest;
- ``record``: kept in the adapter's ledger (in moto, beside the artifacts)
  rather than applied, with the reason;
- ``not carried``: dropped, with the reason and what only a real deploy shows.

A resource type, a property or a sub-property (where the table lists them)
missing from the table is a finding: a new resource or setting can never be
ignored without a decision written here. After the stack is up, every carried
property is compared with what the services report (:func:`verify`), so a
property moto drops in some future version is a finding too.

Known moto quirks, handled knowingly:

- FIFO queues need an explicit name ending in `.fifo`; the adapter gives the one
  CloudFormation would generate (`<stack>-<logical id>-<12 chars>.fifo`).
- A bucket policy's conditional Deny (`aws:SecureTransport: false`) is applied
  by moto to every call (our calls to it are plain HTTP on loopback), which
  would refuse everything: the policy is kept on record (ledger), and stage 5
  evaluates it with SecureTransport=true, as every SDK call in production is
  HTTPS.
- moto's CloudFormation passes a Lambda function only its code, handler, role,
  runtime, description, memory, timeout and environment, and its
  UpdateFunctionConfiguration cannot set the rest: the adapter re-creates each
  function (same name, so same ARN) through CreateFunction with all of its
  properties, then re-adds its permissions, which lived on the old function.
- Environment values come back from moto as CloudFormation's parameter values
  (numbers as numbers); Lambda always stores strings, and so does the re-created
  function.
- ApiGatewayV2 (API, routes, integrations, stage), CloudWatch alarms, Secrets
  Manager secrets, Lambda event-invoke configs, SNS subscriptions and bucket
  policies are not created by moto's CloudFormation at all: see the table.
"""

from __future__ import annotations

import concurrent.futures
import copy
import dataclasses
import hashlib
import io
import json
import random
import string
import time
import uuid
import zipfile
from typing import Any, Callable

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ParamValidationError

from . import intrinsics, ledger as ledger_module, managed_policies
from .findings import Findings, StageFailed
from .translate import Translation

MOTO = "moto"
ADAPTER = "adapter"
RECORD = "record"
NOT_CARRIED = "not carried"


@dataclasses.dataclass(frozen=True)
class Prop:
    """How one property is carried; `keys`: the sub-properties accepted (None: any)."""

    carry: str
    why: str = ""
    keys: frozenset[str] | None = None


def _p(carry: str, why: str = "", keys: tuple[str, ...] | None = None) -> Prop:
    return Prop(carry, why, frozenset(keys) if keys is not None else None)


@dataclasses.dataclass(frozen=True)
class Carrier:
    """How one resource type is carried: `created_by` is moto or the adapter."""

    created_by: str
    note: str
    props: dict[str, Prop]


_TAGS = _p(MOTO, "verified on read-back")

CARRY: dict[str, Carrier] = {
    "AWS::Lambda::Function": Carrier(
        ADAPTER,
        "created by moto's CloudFormation (for its name and the references to it), then re-created by the adapter "
        "with CreateFunction and every property below, since moto's CloudFormation drops Architectures, "
        "TracingConfig and Tags and moto cannot update them",
        {
            "Code": _p(ADAPTER, "the artifact uploaded to the SAM bucket", ("S3Bucket", "S3Key")),
            "Description": _p(ADAPTER),
            "Handler": _p(ADAPTER),
            "MemorySize": _p(ADAPTER),
            "Role": _p(ADAPTER),
            "Runtime": _p(ADAPTER),
            "Timeout": _p(ADAPTER),
            "Environment": _p(ADAPTER, "", ("Variables",)),
            "Tags": _p(ADAPTER),
            "TracingConfig": _p(ADAPTER, "", ("Mode",)),
            "Architectures": _p(ADAPTER),
            "ReservedConcurrentExecutions": _p(ADAPTER, "PutFunctionConcurrency"),
            "LoggingConfig": _p(
                NOT_CARRIED,
                "moto's Lambda has no logging configuration; LogFormat JSON only changes how the platform's own lines "
                "look in CloudWatch, which a real deploy shows. (LogGroup is not accepted: the rehearsal checks the "
                "default group /aws/lambda/<name>; add it here first.)",
                ("LogFormat",),
            ),
        },
    ),
    "AWS::IAM::Role": Carrier(
        MOTO,
        "moto's CloudFormation creates the role and its inline policies (stored as Python text, str of a dict, "
        "which deployed.py reads as such: putting them again through PutRolePolicy is not possible, since moto "
        "refuses a document without Version, as SAM writes its event-invoke policy, which IAM accepts); it drops "
        "ManagedPolicyArns, which the adapter attaches (moto loads AWS's managed policies with "
        "MOTO_IAM_LOAD_MANAGED_POLICIES=true)",
        {
            "AssumeRolePolicyDocument": _p(MOTO),
            "Policies": _p(MOTO),
            "ManagedPolicyArns": _p(ADAPTER, "AttachRolePolicy"),
            "Tags": _TAGS,
        },
    ),
    "AWS::Lambda::Permission": Carrier(
        ADAPTER,
        "moto's CloudFormation adds the statement to the function's policy, which the function's re-creation drops: "
        "the adapter adds it again with AddPermission",
        {
            "Action": _p(ADAPTER),
            "FunctionName": _p(ADAPTER),
            "Principal": _p(ADAPTER),
            "SourceArn": _p(ADAPTER),
            "SourceAccount": _p(ADAPTER),
        },
    ),
    "AWS::Lambda::EventSourceMapping": Carrier(
        MOTO,
        "created by moto's CloudFormation",
        {
            "BatchSize": _p(MOTO),
            "EventSourceArn": _p(MOTO),
            "FunctionName": _p(MOTO),
            "FunctionResponseTypes": _p(MOTO),
            "Enabled": _p(MOTO),
            "MaximumBatchingWindowInSeconds": _p(MOTO),
        },
    ),
    "AWS::Lambda::EventInvokeConfig": Carrier(
        ADAPTER,
        "moto's CloudFormation skips the type: PutFunctionEventInvokeConfig",
        {
            "FunctionName": _p(ADAPTER),
            "Qualifier": _p(ADAPTER),
            "MaximumRetryAttempts": _p(ADAPTER),
            "MaximumEventAgeInSeconds": _p(ADAPTER),
            "DestinationConfig": _p(ADAPTER, "", ("OnFailure", "OnSuccess")),
        },
    ),
    "AWS::SQS::Queue": Carrier(
        MOTO,
        "created by moto's CloudFormation; a FIFO queue gets the name CloudFormation would generate (moto needs one)",
        {
            "FifoQueue": _p(MOTO),
            "ContentBasedDeduplication": _p(MOTO),
            "DeduplicationScope": _p(MOTO),
            "FifoThroughputLimit": _p(MOTO),
            "VisibilityTimeout": _p(MOTO),
            "MessageRetentionPeriod": _p(MOTO),
            "DelaySeconds": _p(MOTO),
            "MaximumMessageSize": _p(MOTO),
            "ReceiveMessageWaitTimeSeconds": _p(MOTO),
            "RedrivePolicy": _p(MOTO, "", ("deadLetterTargetArn", "maxReceiveCount")),
            "SqsManagedSseEnabled": _p(MOTO),
            "QueueName": _p(MOTO),
            "Tags": _TAGS,
        },
    ),
    "AWS::DynamoDB::Table": Carrier(
        MOTO,
        "created by moto's CloudFormation; TTL and point-in-time recovery are dropped by it and applied by the adapter",
        {
            "TableName": _p(MOTO),
            "BillingMode": _p(MOTO),
            "AttributeDefinitions": _p(MOTO),
            "KeySchema": _p(MOTO),
            "GlobalSecondaryIndexes": _p(MOTO),
            "LocalSecondaryIndexes": _p(MOTO),
            "StreamSpecification": _p(MOTO),
            "DeletionProtectionEnabled": _p(MOTO),
            "TimeToLiveSpecification": _p(ADAPTER, "UpdateTimeToLive", ("AttributeName", "Enabled")),
            "PointInTimeRecoverySpecification": _p(ADAPTER, "UpdateContinuousBackups", ("PointInTimeRecoveryEnabled",)),
            "SSESpecification": _p(
                NOT_CARRIED,
                "moto's DynamoDB keeps no encryption setting (CloudFormation's and UpdateTable's are both ignored); "
                "a real deploy shows SSEDescription (KMS, aws/dynamodb key) in DescribeTable",
                ("SSEEnabled",),
            ),
            "Tags": _TAGS,
        },
    ),
    "AWS::S3::Bucket": Carrier(
        MOTO,
        "created by moto's CloudFormation, which keeps the name, encryption and tags; the adapter applies the rest",
        {
            "BucketName": _p(MOTO),
            "BucketEncryption": _p(MOTO),
            "PublicAccessBlockConfiguration": _p(ADAPTER, "PutPublicAccessBlock"),
            "OwnershipControls": _p(ADAPTER, "PutBucketOwnershipControls"),
            "CorsConfiguration": _p(ADAPTER, "PutBucketCors", ("CorsRules",)),
            "NotificationConfiguration": _p(
                ADAPTER, "PutBucketNotificationConfiguration", ("LambdaConfigurations", "QueueConfigurations", "TopicConfigurations")
            ),
            "LifecycleConfiguration": _p(ADAPTER, "PutBucketLifecycleConfiguration", ("Rules",)),
            "VersioningConfiguration": _p(ADAPTER, "PutBucketVersioning", ("Status",)),
            "Tags": _TAGS,
        },
    ),
    "AWS::S3::BucketPolicy": Carrier(
        RECORD,
        "kept on record (the ledger) and not put into moto: moto applies its conditional Deny "
        "(aws:SecureTransport false) to our plain-HTTP loopback calls and would refuse every one; "
        "stage 5 evaluates it with SecureTransport=true, as every SDK call in production is HTTPS",
        {"Bucket": _p(RECORD), "PolicyDocument": _p(RECORD)},
    ),
    "AWS::SecretsManager::Secret": Carrier(
        ADAPTER,
        "moto's CloudFormation skips the type: CreateSecret (before the stack: the functions refer to it), "
        "the value generated by GetRandomPassword with the template's settings",
        {
            "Description": _p(ADAPTER),
            "Name": _p(ADAPTER),
            "GenerateSecretString": _p(
                ADAPTER,
                "",
                (
                    "PasswordLength",
                    "ExcludePunctuation",
                    "ExcludeCharacters",
                    "ExcludeLowercase",
                    "ExcludeUppercase",
                    "ExcludeNumbers",
                    "IncludeSpace",
                    "RequireEachIncludedType",
                ),
            ),
            "Tags": _p(ADAPTER),
        },
    ),
    "AWS::SNS::Topic": Carrier(
        MOTO, "created by moto's CloudFormation", {"DisplayName": _p(MOTO), "TopicName": _p(MOTO), "Tags": _TAGS}
    ),
    "AWS::SNS::Subscription": Carrier(
        ADAPTER,
        "moto's CloudFormation skips the type: Subscribe (an e-mail subscription stays pending confirmation on AWS)",
        {"TopicArn": _p(ADAPTER), "Protocol": _p(ADAPTER), "Endpoint": _p(ADAPTER)},
    ),
    "AWS::CloudWatch::Alarm": Carrier(
        ADAPTER,
        "moto's CloudFormation skips the type: PutMetricAlarm, named as CloudFormation names it",
        {
            name: _p(ADAPTER)
            for name in (
                "AlarmName",
                "AlarmDescription",
                "Namespace",
                "MetricName",
                "Dimensions",
                "Statistic",
                "ExtendedStatistic",
                "Period",
                "EvaluationPeriods",
                "DatapointsToAlarm",
                "Threshold",
                "ComparisonOperator",
                "TreatMissingData",
                "AlarmActions",
                "OKActions",
                "InsufficientDataActions",
                "Metrics",
                "ActionsEnabled",
                "Unit",
            )
        },
    ),
    "AWS::CloudWatch::Dashboard": Carrier(
        MOTO, "created by moto's CloudFormation", {"DashboardName": _p(MOTO), "DashboardBody": _p(MOTO)}
    ),
    "AWS::Logs::LogGroup": Carrier(
        MOTO,
        "created by moto's CloudFormation with its retention",
        {"LogGroupName": _p(MOTO), "RetentionInDays": _p(MOTO), "Tags": _TAGS},
    ),
    "AWS::ApiGatewayV2::Api": Carrier(
        ADAPTER,
        "moto's CloudFormation skips the type and moto cannot import OpenAPI: CreateApi before the stack (name, "
        "CORS, tags from the Body; the permissions refer to its id), then CreateIntegration and CreateRoute for "
        "every path and method of the Body",
        {
            "Body": _p(ADAPTER, "", ("openapi", "info", "paths", "tags", "x-amazon-apigateway-cors")),
            "FailOnWarnings": _p(
                NOT_CARRIED,
                "API Gateway's import warnings (such as a dropped route) exist only on a real import; stage 3 "
                "applies the import rules it knows (a route key may not end in /)",
            ),
        },
    ),
    "AWS::CloudFront::OriginAccessControl": Carrier(
        ADAPTER,
        "moto's CloudFormation skips the type: CreateOriginAccessControl before the stack (the distribution, "
        "and through it the functions' environment, refer to it)",
        {
            "OriginAccessControlConfig": _p(
                ADAPTER,
                "",
                ("Name", "Description", "OriginAccessControlOriginType", "SigningBehavior", "SigningProtocol"),
            ),
        },
    ),
    "AWS::CloudFront::CachePolicy": Carrier(
        RECORD,
        "moto has no cache policies: kept on record (the ledger) under a generated id, which the distribution "
        "refers to; stage 3 checks what it puts in the cache key (rule_media_cdn)",
        {"CachePolicyConfig": _p(RECORD)},
    ),
    "AWS::CloudFront::Distribution": Carrier(
        ADAPTER,
        "moto's CloudFormation skips the type: CreateDistributionWithTags before the stack (the functions' "
        "DOUYIN_MEDIA_BASE_URL and the bucket policy refer to it), its list properties written in the API's "
        "Quantity/Items shape; read back with GetDistributionConfig. moto drops an origin's OriginAccessControlId "
        "(kept on record in the ledger and filled in on read-back) and writes the distribution's ARN with a region "
        "field (read back in AWS's form, arn:aws:cloudfront::<account>:distribution/<id>, which bucket policies "
        "name). Stage 3 evaluates the bucket policy for the distribution (rule_media_cdn); CloudFront's edges and "
        "the access control's signing are exercised only by AWS",
        {
            "DistributionConfig": _p(
                ADAPTER,
                "",
                (
                    "Enabled",
                    "Comment",
                    "HttpVersion",
                    "IPV6Enabled",
                    "PriceClass",
                    "Origins",
                    "DefaultCacheBehavior",
                ),
            ),
            "Tags": _p(ADAPTER),
        },
    ),
    "AWS::ApiGatewayV2::Stage": Carrier(
        ADAPTER,
        "moto's CloudFormation skips the type: CreateStage",
        {
            "ApiId": _p(ADAPTER),
            "StageName": _p(ADAPTER),
            "AutoDeploy": _p(ADAPTER),
            "DefaultRouteSettings": _p(
                ADAPTER, "", ("ThrottlingBurstLimit", "ThrottlingRateLimit", "DetailedMetricsEnabled")
            ),
            "AccessLogSettings": _p(ADAPTER, "", ("DestinationArn", "Format")),
            "RouteSettings": _p(ADAPTER),
            "StageVariables": _p(ADAPTER),
            "Description": _p(ADAPTER),
            "Tags": _p(ADAPTER),
        },
    ),
}

TOP_LEVEL = {"AWSTemplateFormatVersion", "Description", "Parameters", "Conditions", "Resources", "Outputs", "Metadata"}
RESOURCE_ATTRIBUTES = {"Type", "Properties", "DependsOn", "DeletionPolicy", "UpdateReplacePolicy", "Condition", "Metadata"}
# Keys SAM's Body may carry per path method, and per integration.
OPENAPI_OPERATION_KEYS = {"x-amazon-apigateway-integration", "responses", "isDefaultRoute"}
OPENAPI_INTEGRATION_KEYS = {"httpMethod", "type", "uri", "payloadFormatVersion", "timeoutInMillis"}
# Types created before the stack when something refers to them.
BEFORE_STACK = {
    "AWS::SecretsManager::Secret",
    "AWS::ApiGatewayV2::Api",
    "AWS::CloudFront::OriginAccessControl",
    "AWS::CloudFront::CachePolicy",
    "AWS::CloudFront::Distribution",
}
# Types moto's CloudFormation never sees.
ADAPTER_ONLY = {
    "AWS::SecretsManager::Secret",
    "AWS::ApiGatewayV2::Api",
    "AWS::ApiGatewayV2::Stage",
    "AWS::CloudWatch::Alarm",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::SNS::Subscription",
    "AWS::S3::BucketPolicy",
    "AWS::CloudFront::OriginAccessControl",
    "AWS::CloudFront::CachePolicy",
    "AWS::CloudFront::Distribution",
}
PLACEHOLDER_BOOTSTRAP = b"#!/bin/sh\n# rehearsal placeholder: stage 4 runs the real bootstrap\nexit 1\n"
MOTO_ACCOUNT = "123456789012"


# -------------------------------------------------------------- strictness


def check_strict(template: dict[str, Any], findings: Findings) -> None:
    """Every top-level key, resource type, resource attribute and property is in :data:`CARRY`."""
    for key in template:
        if key not in TOP_LEVEL:
            findings.add(2, "strict-template", key, f"top-level section {key!r} is not handled by the rehearsal")
    for logical_id, resource in (template.get("Resources") or {}).items():
        kind = resource.get("Type")
        carrier = CARRY.get(kind)
        if carrier is None:
            findings.add(
                2,
                "strict-resource-type",
                logical_id,
                f"resource type {kind} is unknown to the rehearsal's adapter (deploy.CARRY): say how it is carried "
                "into moto, or why not, before deploying it",
            )
            continue
        for attribute in resource:
            if attribute not in RESOURCE_ATTRIBUTES:
                findings.add(2, "strict-attribute", logical_id, f"resource attribute {attribute} is not handled")
        for name, value in (resource.get("Properties") or {}).items():
            prop = carrier.props.get(name)
            if prop is None:
                findings.add(
                    2,
                    "strict-property",
                    logical_id,
                    f"{kind} property {name} is unknown to the rehearsal's adapter (deploy.CARRY): "
                    "moto may drop it silently; say how it is carried, or why not",
                )
                continue
            if prop.keys is not None and isinstance(value, dict) and not intrinsics._is_intrinsic(value):
                for sub in value:
                    if sub not in prop.keys:
                        findings.add(
                            2, "strict-property", logical_id, f"{kind} property {name}.{sub} is unknown to the adapter"
                        )
        if kind == "AWS::ApiGatewayV2::Api":
            _check_openapi(logical_id, (resource.get("Properties") or {}).get("Body") or {}, findings)


def _check_openapi(logical_id: str, body: dict[str, Any], findings: Findings) -> None:
    for path, methods in (body.get("paths") or {}).items():
        for method, operation in (methods or {}).items():
            for key in operation:
                if key not in OPENAPI_OPERATION_KEYS:
                    findings.add(2, "strict-property", logical_id, f"Body paths.{path}.{method}.{key} is unknown to the adapter")
            integration = operation.get("x-amazon-apigateway-integration") or {}
            for key in integration:
                if key not in OPENAPI_INTEGRATION_KEYS:
                    findings.add(
                        2, "strict-property", logical_id, f"Body paths.{path}.{method} integration {key} is unknown to the adapter"
                    )
            if integration.get("type") != "aws_proxy":
                findings.add(2, "strict-property", logical_id, f"{method.upper()} {path}: only aws_proxy integrations are carried")


# ----------------------------------------------------------------- deploy


@dataclasses.dataclass
class Deployment:
    """Stage 2's result: where the stack is, and what its template resolved to."""

    endpoint: str
    region: str
    account: str
    stack_name: str
    translation: Translation
    active: dict[str, dict[str, Any]]  # resources whose Condition holds
    resolved: dict[str, dict[str, Any]]  # their properties, every intrinsic evaluated
    artifact_sha256: str
    ledger: dict[str, Any]


def clients(endpoint: str, region: str) -> Callable[[str], Any]:
    session = boto3.session.Session(aws_access_key_id="rehearsal", aws_secret_access_key="rehearsal", region_name=region)
    cache: dict[str, Any] = {}

    def client(service: str) -> Any:
        if service not in cache:
            cache[service] = session.client(
                service, endpoint_url=endpoint, region_name=region, config=Config(retries={"max_attempts": 2})
            )
        return cache[service]

    return client


def _suffix(seed: str, length: int = 12) -> str:
    generator = random.Random(hashlib.sha256(seed.encode()).digest())
    return "".join(generator.choice(string.ascii_uppercase + string.digits) for _ in range(length))


def cloudformation_name(stack_name: str, logical_id: str, limit: int = 255, suffix: str = "") -> str:
    """A physical name as CloudFormation generates it: `<stack>-<logical id>-<12 random>`, within `limit`."""
    tail = f"-{_suffix(stack_name + '/' + logical_id)}{suffix}"
    head = f"{stack_name}-{logical_id}"
    return head[: max(1, limit - len(tail))] + tail


def deploy(translation: Translation, endpoint: str, findings: Findings) -> Deployment:
    """Stage 2 for one environment. Raises StageFailed when it cannot go on."""
    environment = translation.environment
    region, stack_name, account = environment.region, environment.stack_name, translation.account
    template = translation.template
    aws = clients(endpoint, region)

    local = Findings()
    check_strict(template, local)
    if local:
        findings.extend(local)
        raise StageFailed(local)

    parameter_names = set(translation.parameters)
    pseudo = {
        "AWS::AccountId": account,
        "AWS::Region": region,
        "AWS::Partition": "aws",
        "AWS::StackName": stack_name,
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::NotificationARNs": [],
    }
    context = intrinsics.Context(translation.parameters, pseudo)
    try:
        intrinsics.evaluate_conditions(template, context)
    except intrinsics.Unsupported as error:
        local.add(2, "intrinsic", "Conditions", str(error))
        findings.extend(local)
        raise StageFailed(local) from error
    resources = template.get("Resources") or {}
    active = {
        logical_id: resource
        for logical_id, resource in resources.items()
        if "Condition" not in resource or context.conditions.get(resource["Condition"], False)
    }

    # The artifacts, as `sam deploy` uploads them (placeholders: stage 4 builds and runs the real ones).
    s3 = aws("s3")
    bucket = ledger_module.artifact_bucket(account, region)
    _ensure_bucket(s3, bucket)
    artifact = _placeholder_zip()
    for item in translation.artifacts:
        s3.put_object(Bucket=bucket, Key=item.key, Body=artifact)

    ledger: dict[str, Any] = {
        "stack_name": stack_name,
        "region": region,
        "account": account,
        "artifact_bucket": bucket,
        "resources": {},
        "bucket_policies": {},
        "not_carried": {},
    }
    for logical_id, resource in active.items():
        carrier = CARRY[resource["Type"]]
        dropped = {
            name: carrier.props[name].why
            for name in (resource.get("Properties") or {})
            if carrier.props[name].carry == NOT_CARRIED
        }
        if dropped:
            ledger["not_carried"][logical_id] = dropped

    known = parameter_names | set(pseudo)
    referenced_by_moto: set[str] = set()
    for logical_id, resource in active.items():
        if resource["Type"] in ADAPTER_ONLY:
            continue
        referenced_by_moto |= {name for name, _ in intrinsics.references(resource, known)}
    referenced_by_moto |= {name for name, _ in intrinsics.references(template.get("Outputs") or {}, known)}

    # 1. Before the stack: what moto's CloudFormation does not create but its resources refer to.
    literals: dict[str, dict[str | None, str]] = {}
    before: list[str] = []
    for logical_id, resource in active.items():
        kind = resource["Type"]
        if kind not in BEFORE_STACK and (kind not in ADAPTER_ONLY or logical_id not in referenced_by_moto):
            continue
        if kind not in BEFORE_STACK:
            local.add(
                2,
                "adapter-order",
                logical_id,
                f"{kind} is created by the adapter after the stack, but resources of the stack refer to it",
            )
            continue
        before.append(logical_id)

    def literal_ref(name: str) -> Any:
        if name not in literals:
            raise intrinsics.Unsupported(f"Ref {name}: not created before the stack")
        return literals[name][None]

    def literal_getatt(name: str, attribute: str) -> Any:
        if attribute not in literals.get(name, {}):
            raise intrinsics.Unsupported(f"Fn::GetAtt {name}.{attribute}: not created before the stack")
        return literals[name][attribute]

    before_context = intrinsics.Context(translation.parameters, pseudo, context.conditions, literal_ref, literal_getatt)
    # Those that refer to others (the distribution to its access control and cache policy) come after them.
    for logical_id in _dependency_order(before, active, known):
        resource = active[logical_id]
        try:
            literals[logical_id] = _create_before(aws, stack_name, logical_id, resource, before_context)
        except (intrinsics.Unsupported, ClientError) as error:
            local.add(2, "adapter-create", logical_id, str(error))
            continue
        carried_by = "record" if CARRY[resource["Type"]].created_by == RECORD else "adapter"
        ledger["resources"][logical_id] = {
            "type": resource["Type"],
            "physical_id": literals[logical_id][None],
            "carried_by": carried_by,
        }
        if carried_by == "record":
            ledger.setdefault("records", {})[logical_id] = intrinsics.resolve(resource.get("Properties") or {}, before_context)
        if resource["Type"] == "AWS::CloudFront::Distribution":
            # moto does not store an origin's access control: kept on record, filled in on read-back.
            origins = intrinsics.resolve(resource.get("Properties") or {}, before_context)["DistributionConfig"].get("Origins") or []
            ledger.setdefault("records", {})[logical_id] = {
                "origin_access_control_ids": {o["Id"]: o["OriginAccessControlId"] for o in origins if "OriginAccessControlId" in o}
            }
    if local:
        findings.extend(local)
        raise StageFailed(local)

    # 2. The stack, as moto's CloudFormation receives it.
    moto_template, wanted = _moto_template(template, active, literals, known, stack_name)
    cloudformation = aws("cloudformation")
    try:
        cloudformation.create_stack(
            StackName=stack_name,
            TemplateBody=json.dumps(moto_template),
            Parameters=[
                {"ParameterKey": name, "ParameterValue": ",".join(value) if isinstance(value, list) else value}
                for name, value in translation.parameters.items()
            ],
            Capabilities=environment.capabilities or ["CAPABILITY_IAM"],
        )
    except ClientError as error:
        local.add(2, "create-stack", stack_name, error.response["Error"].get("Message", str(error)))
        findings.extend(local)
        raise StageFailed(local) from error
    stack = _wait(cloudformation, stack_name)
    if stack["StackStatus"] != "CREATE_COMPLETE":
        local.add(2, "create-stack", stack_name, f"{stack['StackStatus']}: {stack.get('StackStatusReason', '')}")
        findings.extend(local)
        raise StageFailed(local)
    outputs = {o["OutputKey"]: o.get("OutputValue") for o in stack.get("Outputs") or []}
    physical = _physical_ids(cloudformation, stack_name)

    def ref(name: str) -> Any:
        if name in literals:
            return literals[name][None]
        key = wanted.get((name, None))
        if key is None or key not in outputs:
            raise intrinsics.Unsupported(f"Ref {name}: no value (is {name} in the template?)")
        return outputs[key]

    def getatt(name: str, attribute: str) -> Any:
        if name in literals:
            if attribute not in literals[name]:
                raise intrinsics.Unsupported(f"{name}.{attribute}: the adapter does not provide it")
            return literals[name][attribute]
        key = wanted.get((name, attribute))
        if key is None or key not in outputs:
            raise intrinsics.Unsupported(f"Fn::GetAtt {name}.{attribute}: no value")
        return outputs[key]

    context = intrinsics.Context(translation.parameters, pseudo, context.conditions, ref, getatt)
    resolved: dict[str, dict[str, Any]] = {}
    for logical_id, resource in active.items():
        try:
            resolved[logical_id] = intrinsics.resolve(resource.get("Properties") or {}, context)
        except (intrinsics.Unsupported, KeyError, IndexError, TypeError, ValueError) as error:
            local.add(2, "intrinsic", logical_id, f"cannot evaluate its properties: {error}")
    if local:
        findings.extend(local)
        raise StageFailed(local)

    deployment = Deployment(
        endpoint, region, account, stack_name, translation, active, resolved, hashlib.sha256(artifact).hexdigest(), ledger
    )
    # 3. After the stack: re-create, re-apply, create what moto skipped.
    _after_stack(aws, deployment, physical, literals, local)
    ledger_module.write(s3, bucket, stack_name, ledger)
    if local:
        findings.extend(local)
        raise StageFailed(local)
    return deployment


def _ensure_bucket(s3: Any, bucket: str) -> None:
    try:
        s3.create_bucket(Bucket=bucket)
    except ClientError as error:
        if error.response["Error"].get("Code") not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        info = zipfile.ZipInfo("bootstrap", date_time=(2020, 1, 1, 0, 0, 0))
        info.external_attr = 0o755 << 16
        archive.writestr(info, PLACEHOLDER_BOOTSTRAP)
    return buffer.getvalue()


def _moto_template(
    template: dict[str, Any],
    active: dict[str, Any],
    literals: dict[str, dict[str | None, str]],
    known: set[str],
    stack_name: str,
) -> tuple[dict[str, Any], dict[tuple[str, str | None], str]]:
    """The template moto's CloudFormation receives, and the outputs that expose each reference.

    Adapter-only resources are removed (those created before the stack are
    replaced by their literal identities); FIFO queues get CloudFormation's
    name; every Ref/GetAtt any resource makes is added as an output
    `RehearsalRefN`, so the adapter resolves properties with moto's own values.
    """
    moto = copy.deepcopy({key: value for key, value in template.items() if key != "Resources"})
    resources = {}
    for logical_id, resource in (template.get("Resources") or {}).items():
        if resource["Type"] in ADAPTER_ONLY:
            continue
        resource = intrinsics.substitute(copy.deepcopy(resource), literals)
        depends = resource.get("DependsOn")
        if depends is not None:
            names = [depends] if isinstance(depends, str) else list(depends)
            names = [name for name in names if (template["Resources"].get(name) or {}).get("Type") not in ADAPTER_ONLY]
            if names:
                resource["DependsOn"] = names
            else:
                del resource["DependsOn"]
        properties = resource.setdefault("Properties", {})
        if resource["Type"] == "AWS::SQS::Queue" and _truthy(properties.get("FifoQueue")) and "QueueName" not in properties:
            properties["QueueName"] = cloudformation_name(stack_name, logical_id, limit=80, suffix=".fifo")
        resources[logical_id] = resource
    moto["Resources"] = resources
    moto["Outputs"] = intrinsics.substitute(moto.get("Outputs") or {}, literals)
    wanted: dict[tuple[str, str | None], str] = {}
    for logical_id, resource in active.items():
        for name, attribute in sorted(intrinsics.references(resource.get("Properties") or {}, known), key=str):
            if name in literals or (name, attribute) in wanted or name not in resources:
                continue
            key = f"Rehearsal{len(wanted)}"
            wanted[(name, attribute)] = key
            value = {"Ref": name} if attribute is None else {"Fn::GetAtt": [name, attribute]}
            moto["Outputs"][key] = {"Value": value}
    return moto, wanted


def _truthy(value: Any) -> bool:
    """CloudFormation's booleans: true, or the text "true" (any case)."""
    return value is True or (isinstance(value, str) and value.lower() == "true")


def _wait(cloudformation: Any, stack_name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 120
    while True:
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
        if not stack["StackStatus"].endswith("IN_PROGRESS") or time.monotonic() > deadline:
            return stack
        time.sleep(0.2)


def _physical_ids(cloudformation: Any, stack_name: str) -> dict[str, str]:
    physical = {}
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        for row in page["StackResourceSummaries"]:
            if row.get("LogicalResourceId") and row.get("ResourceType"):
                physical[row["LogicalResourceId"]] = row.get("PhysicalResourceId", "")
    return physical


# ------------------------------------------------------- adapter creators


def _create_before(
    aws: Callable[[str], Any], stack_name: str, logical_id: str, resource: dict[str, Any], context: intrinsics.Context
) -> dict[str | None, str]:
    """Creates a resource moto's CloudFormation skips but its resources refer to; its literal identity."""
    kind = resource["Type"]
    properties = resource.get("Properties") or {}
    if kind == "AWS::SecretsManager::Secret":
        props = intrinsics.resolve(properties, context)
        secrets = aws("secretsmanager")
        name = props.get("Name") or f"{logical_id}-{_suffix(stack_name + '/' + logical_id)}"
        generate = props.get("GenerateSecretString") or {}
        value = secrets.get_random_password(**{key: value for key, value in generate.items()})["RandomPassword"]
        kwargs: dict[str, Any] = {"Name": name, "SecretString": value}
        if "Description" in props:
            kwargs["Description"] = props["Description"]
        if props.get("Tags"):
            kwargs["Tags"] = props["Tags"]
        arn = secrets.create_secret(**kwargs)["ARN"]
        return {None: arn, "Id": arn}
    if kind == "AWS::ApiGatewayV2::Api":
        body = properties.get("Body") or {}
        identity = intrinsics.resolve(
            {"info": body.get("info"), "cors": body.get("x-amazon-apigateway-cors"), "tags": body.get("tags")}, context
        )
        kwargs = {"Name": (identity.get("info") or {}).get("title") or logical_id, "ProtocolType": "HTTP"}
        cors = identity.get("cors")
        if cors:
            kwargs["CorsConfiguration"] = {key[0].upper() + key[1:]: value for key, value in cors.items()}
        tags = {tag["name"]: tag.get("x-amazon-apigateway-tag-value", "") for tag in identity.get("tags") or []}
        if tags:
            kwargs["Tags"] = tags
        api = aws("apigatewayv2").create_api(**kwargs)
        return {None: api["ApiId"], "ApiEndpoint": api["ApiEndpoint"], "ApiId": api["ApiId"]}
    if kind == "AWS::CloudFront::OriginAccessControl":
        props = intrinsics.resolve(properties, context)
        control = aws("cloudfront").create_origin_access_control(
            OriginAccessControlConfig=props["OriginAccessControlConfig"]
        )["OriginAccessControl"]
        return {None: control["Id"], "Id": control["Id"]}
    if kind == "AWS::CloudFront::CachePolicy":
        # Kept on record only (moto has none): an id shaped like CloudFront's (a UUID).
        identity = str(uuid.UUID(bytes=hashlib.sha256(f"{stack_name}/{logical_id}".encode()).digest()[:16]))
        return {None: identity, "Id": identity}
    if kind == "AWS::CloudFront::Distribution":
        props = intrinsics.resolve(properties, context)
        config = cloudfront_distribution_config(props["DistributionConfig"], caller_reference=f"{stack_name}/{logical_id}")
        tags = [{"Key": tag["Key"], "Value": tag["Value"]} for tag in props.get("Tags") or []]
        distribution = aws("cloudfront").create_distribution_with_tags(
            DistributionConfigWithTags={"DistributionConfig": config, "Tags": {"Items": tags}}
        )["Distribution"]
        return {None: distribution["Id"], "Id": distribution["Id"], "DomainName": distribution["DomainName"]}
    raise intrinsics.Unsupported(f"{kind} cannot be created before the stack")


def _dependency_order(names: list[str], active: dict[str, Any], known: set[str]) -> list[str]:
    """`names` ordered so that each comes after those of `names` it refers to (template order otherwise)."""
    ordered: list[str] = []
    waiting = list(names)
    while waiting:
        ready = [
            name
            for name in waiting
            if not {ref for ref, _ in intrinsics.references(active[name].get("Properties") or {}, known)}
            & (set(waiting) - {name})
        ]
        if not ready:  # a cycle: creation reports the reference it cannot resolve
            ready = waiting[:1]
        ordered += ready
        waiting = [name for name in waiting if name not in ready]
    return ordered


_ORIGIN_KEYS = {"Id", "DomainName", "OriginAccessControlId", "S3OriginConfig"}
_BEHAVIOR_KEYS = {"TargetOriginId", "ViewerProtocolPolicy", "AllowedMethods", "CachedMethods", "CachePolicyId", "Compress"}


def _only(value: dict[str, Any], known: set[str], where: str) -> None:
    """Strictness inside the distribution: a key the conversion below would drop is refused."""
    unknown = sorted(set(value) - known)
    if unknown:
        raise intrinsics.Unsupported(
            f"DistributionConfig.{where} has {', '.join(unknown)}, which the rehearsal's adapter does not carry "
            "(deploy.cloudfront_distribution_config): carry it, or say why not"
        )


def _items(values: list[Any]) -> dict[str, Any]:
    return {"Quantity": len(values), "Items": values}


def cloudfront_distribution_config(config: dict[str, Any], caller_reference: str) -> dict[str, Any]:
    """A CloudFormation DistributionConfig in CloudFront's API shape (lists as Quantity/Items).

    Only the keys CARRY accepts reach here (check_strict refuses the others)."""
    out: dict[str, Any] = {
        "CallerReference": caller_reference,
        "Comment": config.get("Comment", ""),
        "Enabled": _truthy(config.get("Enabled", False)),
    }
    for key in ("HttpVersion", "PriceClass"):
        if key in config:
            out[key] = config[key]
    if "IPV6Enabled" in config:
        out["IsIPV6Enabled"] = _truthy(config["IPV6Enabled"])
    origins = []
    for origin in config.get("Origins") or []:
        _only(origin, _ORIGIN_KEYS, "Origins[]")
        item = {"Id": origin["Id"], "DomainName": origin["DomainName"]}
        if "OriginAccessControlId" in origin:
            item["OriginAccessControlId"] = origin["OriginAccessControlId"]
        if "S3OriginConfig" in origin:
            item["S3OriginConfig"] = {"OriginAccessIdentity": origin["S3OriginConfig"].get("OriginAccessIdentity", "")}
        origins.append(item)
    out["Origins"] = _items(origins)
    behavior = config.get("DefaultCacheBehavior") or {}
    _only(behavior, _BEHAVIOR_KEYS, "DefaultCacheBehavior")
    default = {
        "TargetOriginId": behavior["TargetOriginId"],
        "ViewerProtocolPolicy": behavior["ViewerProtocolPolicy"],
    }
    if "AllowedMethods" in behavior:
        default["AllowedMethods"] = _items(list(behavior["AllowedMethods"]))
        if "CachedMethods" in behavior:
            default["AllowedMethods"]["CachedMethods"] = _items(list(behavior["CachedMethods"]))
    for key in ("CachePolicyId", "Compress"):
        if key in behavior:
            default[key] = _truthy(behavior[key]) if key == "Compress" else behavior[key]
    out["DefaultCacheBehavior"] = default
    return out


def _after_stack(
    aws: Callable[[str], Any],
    deployment: Deployment,
    physical: dict[str, str],
    literals: dict[str, dict[str | None, str]],
    findings: Findings,
) -> None:
    """Re-creates the functions and applies what moto's CloudFormation skipped or dropped.

    Two phases, each run in parallel over its resources: first what exists on
    its own (functions, roles, tables, buckets), then what refers to a function
    (permissions, invoke configs, routes, stage, alarms, subscriptions).
    """
    by_type: dict[str, list[str]] = {}
    for logical_id, resource in deployment.active.items():
        by_type.setdefault(resource["Type"], []).append(logical_id)
    lam, iam, s3, ddb, gateway, cloudwatch, sns = (
        aws(name) for name in ("lambda", "iam", "s3", "dynamodb", "apigatewayv2", "cloudwatch", "sns")
    )
    names = dict(physical)
    for logical_id, values in literals.items():
        names[logical_id] = values[None]
    resolved = deployment.resolved
    records = deployment.ledger["resources"]

    def task(logical_id: str, what: str, call: Callable[[], Any]) -> Callable[[], None]:
        def run() -> None:
            try:
                call()
            except (ClientError, ParamValidationError, KeyError, TypeError, ValueError) as error:
                findings.add(2, "adapter-apply", logical_id, f"{what}: {error}")

        return run

    first: list[Callable[[], None]] = []
    for logical_id in by_type.get("AWS::Lambda::Function", []):
        first.append(task(logical_id, "re-create the function", lambda lid=logical_id: _recreate_function(
            lam, names[lid], resolved[lid], findings, lid)))
    for logical_id in by_type.get("AWS::IAM::Role", []):
        for arn in resolved[logical_id].get("ManagedPolicyArns") or []:
            if arn not in managed_policies.BY_ARN:
                findings.add(2, "managed-policy", logical_id, f"{arn} is not in rehearse/managed_policies.py")
            first.append(task(logical_id, f"attach {arn}", lambda lid=logical_id, arn=arn: iam.attach_role_policy(
                RoleName=names[lid], PolicyArn=arn)))
    for logical_id in by_type.get("AWS::DynamoDB::Table", []):
        first.append(task(logical_id, "TTL and point-in-time recovery", lambda lid=logical_id: _apply_table(
            ddb, names[lid], resolved[lid])))
    for logical_id in by_type.get("AWS::S3::Bucket", []):
        first.append(task(logical_id, "bucket settings", lambda lid=logical_id: _apply_bucket(s3, names[lid], resolved[lid])))

    second: list[Callable[[], None]] = []
    for logical_id in by_type.get("AWS::Lambda::Permission", []):
        second.append(task(logical_id, "AddPermission", lambda lid=logical_id: _add_permission(lam, lid, resolved[lid])))
    for logical_id in by_type.get("AWS::Lambda::EventInvokeConfig", []):
        second.append(task(logical_id, "PutFunctionEventInvokeConfig", lambda lid=logical_id: _event_invoke_config(
            lam, resolved[lid])))
        records[logical_id] = {"type": "AWS::Lambda::EventInvokeConfig", "physical_id": str(resolved[logical_id].get("FunctionName")), "carried_by": "adapter"}
    for logical_id in by_type.get("AWS::ApiGatewayV2::Api", []):
        second.append(task(logical_id, "routes", lambda lid=logical_id: _api_routes(gateway, names[lid], resolved[lid])))
    for logical_id in by_type.get("AWS::ApiGatewayV2::Stage", []):
        second.append(task(logical_id, "CreateStage", lambda lid=logical_id: _api_stage(gateway, resolved[lid])))
        records[logical_id] = {"type": "AWS::ApiGatewayV2::Stage", "physical_id": str(resolved[logical_id].get("StageName")), "carried_by": "adapter"}
    for logical_id in by_type.get("AWS::CloudWatch::Alarm", []):
        name = resolved[logical_id].get("AlarmName") or cloudformation_name(deployment.stack_name, logical_id)
        second.append(task(logical_id, "PutMetricAlarm", lambda lid=logical_id, name=name: cloudwatch.put_metric_alarm(
            **_alarm_arguments(name, resolved[lid]))))
        records[logical_id] = {"type": "AWS::CloudWatch::Alarm", "physical_id": name, "carried_by": "adapter"}
    for logical_id in by_type.get("AWS::SNS::Subscription", []):
        second.append(task(logical_id, "Subscribe", lambda lid=logical_id: sns.subscribe(
            TopicArn=resolved[lid]["TopicArn"], Protocol=resolved[lid]["Protocol"], Endpoint=resolved[lid]["Endpoint"])))
    for logical_id in by_type.get("AWS::S3::BucketPolicy", []):
        props = resolved[logical_id]
        deployment.ledger["bucket_policies"][props["Bucket"]] = props["PolicyDocument"]
        records[logical_id] = {"type": "AWS::S3::BucketPolicy", "physical_id": props["Bucket"], "carried_by": "record"}

    for phase in (first, second):
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda run: run(), phase))


def _apply_table(ddb: Any, name: str, props: dict[str, Any]) -> None:
    if "TimeToLiveSpecification" in props:
        spec = props["TimeToLiveSpecification"]
        ddb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": spec["AttributeName"], "Enabled": _truthy(spec.get("Enabled"))},
        )
    if "PointInTimeRecoverySpecification" in props:
        enabled = _truthy(props["PointInTimeRecoverySpecification"].get("PointInTimeRecoveryEnabled"))
        ddb.update_continuous_backups(TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": enabled})


def _alarm_arguments(name: str, props: dict[str, Any]) -> dict[str, Any]:
    """PutMetricAlarm's arguments from the resolved properties (CloudFormation gives numbers as text)."""
    kwargs: dict[str, Any] = {key: value for key, value in props.items() if key != "AlarmName"}
    kwargs["AlarmName"] = name
    for key in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
        if key in kwargs:
            kwargs[key] = int(kwargs[key])
    if "Threshold" in kwargs:
        kwargs["Threshold"] = float(kwargs["Threshold"])
    if "ActionsEnabled" in kwargs:
        kwargs["ActionsEnabled"] = _truthy(kwargs["ActionsEnabled"])
    metrics = []
    for metric in kwargs.get("Metrics") or []:
        metric = dict(metric)
        if "ReturnData" in metric:
            metric["ReturnData"] = _truthy(metric["ReturnData"])
        if "Period" in metric:
            metric["Period"] = int(metric["Period"])
        if "MetricStat" in metric:
            metric["MetricStat"] = dict(metric["MetricStat"], Period=int(metric["MetricStat"]["Period"]))
        metrics.append(metric)
    if metrics:
        kwargs["Metrics"] = metrics
    return kwargs


def _tags_dict(tags: Any) -> dict[str, str]:
    if isinstance(tags, dict):
        return {str(key): str(value) for key, value in tags.items()}
    return {tag["Key"]: str(tag["Value"]) for tag in tags or []}


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _recreate_function(lam: Any, name: str, props: dict[str, Any], findings: Findings, logical_id: str) -> None:
    # What moto's CloudFormation stored, before it is replaced: resolved alike, or a finding.
    stored = lam.get_function_configuration(FunctionName=name)
    stored_env = {k: _env_text(v) for k, v in ((stored.get("Environment") or {}).get("Variables") or {}).items()}
    want_env = {k: _env_text(v) for k, v in ((props.get("Environment") or {}).get("Variables") or {}).items()}
    if stored_env != want_env:
        diff = sorted(set(stored_env.items()) ^ set(want_env.items()))
        findings.add(2, "moto-resolution", logical_id, f"moto's CloudFormation resolved the environment otherwise: {diff}")
    lam.delete_function(FunctionName=name)
    kwargs: dict[str, Any] = {
        "FunctionName": name,
        "Runtime": props.get("Runtime"),
        "Role": props["Role"],
        "Handler": props.get("Handler"),
        "Code": {"S3Bucket": props["Code"]["S3Bucket"], "S3Key": props["Code"]["S3Key"]},
        "Timeout": int(props.get("Timeout", 3)),
        "MemorySize": int(props.get("MemorySize", 128)),
        "Publish": False,
    }
    if "Description" in props:
        kwargs["Description"] = props["Description"]
    if want_env or "Environment" in props:
        kwargs["Environment"] = {"Variables": want_env}
    if "TracingConfig" in props:
        kwargs["TracingConfig"] = {"Mode": props["TracingConfig"].get("Mode", "PassThrough")}
    if "Architectures" in props:
        kwargs["Architectures"] = list(props["Architectures"])
    if props.get("Tags"):
        kwargs["Tags"] = _tags_dict(props["Tags"])
    lam.create_function(**{key: value for key, value in kwargs.items() if value is not None})
    if "ReservedConcurrentExecutions" in props:
        lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=int(props["ReservedConcurrentExecutions"]))


def _add_permission(lam: Any, logical_id: str, props: dict[str, Any]) -> None:
    kwargs = {
        "FunctionName": props["FunctionName"],
        "StatementId": logical_id,
        "Action": props["Action"],
        "Principal": props["Principal"],
    }
    if "SourceArn" in props:
        kwargs["SourceArn"] = props["SourceArn"]
    if "SourceAccount" in props:
        kwargs["SourceAccount"] = str(props["SourceAccount"])
    lam.add_permission(**kwargs)


def _event_invoke_config(lam: Any, props: dict[str, Any]) -> None:
    kwargs: dict[str, Any] = {"FunctionName": props["FunctionName"]}
    if "Qualifier" in props:
        kwargs["Qualifier"] = props["Qualifier"]
    if "MaximumRetryAttempts" in props:
        kwargs["MaximumRetryAttempts"] = int(props["MaximumRetryAttempts"])
    if "MaximumEventAgeInSeconds" in props:
        kwargs["MaximumEventAgeInSeconds"] = int(props["MaximumEventAgeInSeconds"])
    if "DestinationConfig" in props:
        kwargs["DestinationConfig"] = {
            key: {"Destination": value["Destination"]} for key, value in props["DestinationConfig"].items()
        }
    lam.put_function_event_invoke_config(**kwargs)


def _s3_rules(rules: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [{"Name": rule["Name"], "Value": rule["Value"]} for rule in rules]


_LIFECYCLE_KEYS = {"Id", "Status", "Prefix", "TagFilters", "ExpirationInDays", "AbortIncompleteMultipartUpload"}


def lifecycle_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """CloudFormation's lifecycle rules in S3's API shape (`Id` → `ID`, `ExpirationInDays` →
    `Expiration.Days`, `Prefix` + `TagFilters` → `Filter.And`). A key it does not convert is
    refused (ValueError: an adapter finding), never dropped."""
    out = []
    for rule in rules:
        unknown = sorted(set(rule) - _LIFECYCLE_KEYS)
        if unknown:
            raise ValueError(
                f"lifecycle rule {rule.get('Id')!r} has {', '.join(unknown)}, which deploy.lifecycle_rules does not "
                "carry: carry it, or say why not"
            )
        item: dict[str, Any] = {"Status": rule["Status"]}
        if "Id" in rule:
            item["ID"] = rule["Id"]
        tags = [{"Key": tag["Key"], "Value": tag["Value"]} for tag in rule.get("TagFilters") or []]
        prefix = rule.get("Prefix", "")
        if tags and (prefix or len(tags) > 1):
            item["Filter"] = {"And": {"Prefix": prefix, "Tags": tags} if prefix else {"Tags": tags}}
        elif tags:
            item["Filter"] = {"Tag": tags[0]}
        else:
            item["Filter"] = {"Prefix": prefix}
        if "ExpirationInDays" in rule:
            item["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
        if "AbortIncompleteMultipartUpload" in rule:
            days = rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]
            item["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": int(days)}
        out.append(item)
    return out


def _apply_bucket(s3: Any, name: str, props: dict[str, Any]) -> None:
    if "PublicAccessBlockConfiguration" in props:
        block = {key: _truthy(value) for key, value in props["PublicAccessBlockConfiguration"].items()}
        s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=block)
    if "OwnershipControls" in props:
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls={"Rules": props["OwnershipControls"]["Rules"]})
    if "CorsConfiguration" in props:
        rules = []
        for rule in props["CorsConfiguration"]["CorsRules"]:
            converted = {
                "AllowedMethods": rule["AllowedMethods"],
                "AllowedOrigins": rule["AllowedOrigins"],
            }
            for source, target in (("AllowedHeaders", "AllowedHeaders"), ("ExposedHeaders", "ExposeHeaders"), ("MaxAge", "MaxAgeSeconds"), ("Id", "ID")):
                if source in rule:
                    converted[target] = int(rule[source]) if source == "MaxAge" else rule[source]
            rules.append(converted)
        s3.put_bucket_cors(Bucket=name, CORSConfiguration={"CORSRules": rules})
    if "NotificationConfiguration" in props:
        notification = props["NotificationConfiguration"]
        configuration: dict[str, Any] = {}
        for source, target, arn_key, cfn_arn in (
            ("LambdaConfigurations", "LambdaFunctionConfigurations", "LambdaFunctionArn", "Function"),
            ("QueueConfigurations", "QueueConfigurations", "QueueArn", "Queue"),
            ("TopicConfigurations", "TopicConfigurations", "TopicArn", "Topic"),
        ):
            for item in notification.get(source) or []:
                entry: dict[str, Any] = {arn_key: item[cfn_arn], "Events": [item["Event"]]}
                rules = ((item.get("Filter") or {}).get("S3Key") or {}).get("Rules")
                # An empty prefix or suffix matches every key, as no rule does; moto fails (500) on one.
                rules = [rule for rule in rules or [] if rule.get("Value")]
                if rules:
                    entry["Filter"] = {"Key": {"FilterRules": _s3_rules(rules)}}
                configuration.setdefault(target, []).append(entry)
        s3.put_bucket_notification_configuration(Bucket=name, NotificationConfiguration=configuration)
    if "LifecycleConfiguration" in props:
        s3.put_bucket_lifecycle_configuration(
            Bucket=name, LifecycleConfiguration={"Rules": lifecycle_rules(props["LifecycleConfiguration"]["Rules"])}
        )
    if "VersioningConfiguration" in props:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": props["VersioningConfiguration"]["Status"]})


_METHODS = {"x-amazon-apigateway-any-method": "ANY"}


def route_keys_of_body(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Route key → integration, from SAM's OpenAPI Body (`$default` for its default route)."""
    routes = {}
    for path, methods in (body.get("paths") or {}).items():
        for method, operation in (methods or {}).items():
            if operation.get("isDefaultRoute") or path == "$default":
                key = "$default"
            else:
                key = f"{_METHODS.get(method, method.upper())} {path}"
            routes[key] = operation.get("x-amazon-apigateway-integration") or {}
    return routes


def _api_routes(gateway: Any, api_id: str, props: dict[str, Any]) -> None:
    integrations: dict[tuple[str, str], str] = {}
    for key, integration in route_keys_of_body(props.get("Body") or {}).items():
        identity = (integration["uri"], str(integration.get("payloadFormatVersion", "2.0")))
        if identity not in integrations:
            kwargs: dict[str, Any] = {
                "ApiId": api_id,
                "IntegrationType": "AWS_PROXY",
                "IntegrationUri": integration["uri"],
                "IntegrationMethod": integration.get("httpMethod", "POST"),
                "PayloadFormatVersion": identity[1],
            }
            if "timeoutInMillis" in integration:
                kwargs["TimeoutInMillis"] = int(integration["timeoutInMillis"])
            integrations[identity] = gateway.create_integration(**kwargs)["IntegrationId"]
        gateway.create_route(ApiId=api_id, RouteKey=key, Target=f"integrations/{integrations[identity]}")


def _api_stage(gateway: Any, props: dict[str, Any]) -> None:
    kwargs: dict[str, Any] = {"ApiId": props["ApiId"], "StageName": props["StageName"]}
    if "AutoDeploy" in props:
        kwargs["AutoDeploy"] = _truthy(props["AutoDeploy"])
    if "DefaultRouteSettings" in props:
        settings = props["DefaultRouteSettings"]
        converted: dict[str, Any] = {}
        if "ThrottlingBurstLimit" in settings:
            converted["ThrottlingBurstLimit"] = int(settings["ThrottlingBurstLimit"])
        if "ThrottlingRateLimit" in settings:
            converted["ThrottlingRateLimit"] = float(settings["ThrottlingRateLimit"])
        if "DetailedMetricsEnabled" in settings:
            converted["DetailedMetricsEnabled"] = _truthy(settings["DetailedMetricsEnabled"])
        kwargs["DefaultRouteSettings"] = converted
    for key in ("AccessLogSettings", "RouteSettings", "StageVariables", "Description"):
        if key in props:
            kwargs[key] = props[key]
    if "Tags" in props:
        kwargs["Tags"] = _tags_dict(props["Tags"])
    gateway.create_stage(**kwargs)


# ----------------------------------------------------------------- verify


def verify(deployment: Deployment, state: dict[str, Any], findings: Findings) -> None:
    """Every carried property, as resolved from the template, against what the services report.

    A difference is a stage-2 finding `read-back`: moto (or the adapter) did
    not store what the template says, so the later stages would check and run
    something else than AWS would deploy.
    """
    def differ(logical_id: str, what: str, want: Any, got: Any) -> None:
        findings.add(2, "read-back", logical_id, f"{what}: the template says {want!r}, the emulator holds {got!r}")

    def expect(logical_id: str, what: str, want: Any, got: Any) -> None:
        if _normal(want) != _normal(got):
            differ(logical_id, what, want, got)

    function_by_name = {f["name"]: f for f in state["functions"].values()}
    function_by_arn = {f["arn"]: f for f in state["functions"].values()}
    queue_by_arn = {q["arn"]: q for q in state["queues"].values()}
    for logical_id, resource in deployment.active.items():
        kind, props = resource["Type"], deployment.resolved[logical_id]
        verifier = _VERIFIERS.get(kind)
        if verifier is None:
            continue
        try:
            verifier(logical_id, props, state, expect, differ, function_by_name, function_by_arn, queue_by_arn, deployment)
        except (KeyError, TypeError) as error:
            findings.add(2, "read-back", logical_id, f"not found as deployed ({type(error).__name__}: {error})")


def _normal(value: Any) -> Any:
    """Comparable form: CloudFormation's text numbers and booleans as Python values, lists of dicts sorted."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        try:
            return float(value)
        except ValueError:
            return value
    if isinstance(value, dict):
        return {key: _normal(item) for key, item in value.items()}
    if isinstance(value, list):
        items = [_normal(item) for item in value]
        return sorted(items, key=lambda item: json.dumps(item, sort_keys=True)) if all(isinstance(i, dict) for i in items) else items
    return value


def _tag_map(tags: Any) -> dict[str, str]:
    return _tags_dict(tags) if tags else {}


def _verify_function(logical_id, props, state, expect, differ, by_name, by_arn, queues, deployment) -> None:
    function = state["functions"][logical_id]
    expect(logical_id, "Runtime", props.get("Runtime"), function["runtime"])
    expect(logical_id, "Handler", props.get("Handler"), function["handler"])
    expect(logical_id, "MemorySize", props.get("MemorySize", 128), function["memory_size"])
    expect(logical_id, "Timeout", props.get("Timeout", 3), function["timeout"])
    expect(logical_id, "Role", props["Role"], function["role_arn"])
    expect(logical_id, "Description", props.get("Description", ""), function["description"])
    want_env = {k: _env_text(v) for k, v in ((props.get("Environment") or {}).get("Variables") or {}).items()}
    if want_env != function["environment"]:
        differ(logical_id, "Environment", want_env, function["environment"])
    expect(logical_id, "Architectures", props.get("Architectures", ["x86_64"]), function["architectures"])
    expect(logical_id, "TracingConfig", (props.get("TracingConfig") or {}).get("Mode", "PassThrough"), function["tracing"])
    want_tags = _tag_map(props.get("Tags"))
    if any(function["tags"].get(key) != value for key, value in want_tags.items()):
        differ(logical_id, "Tags", want_tags, function["tags"])
    expect(logical_id, "ReservedConcurrentExecutions", props.get("ReservedConcurrentExecutions"), function["reserved_concurrency"])
    if not function["code_size"]:
        differ(logical_id, "Code", props["Code"], "no code")


def _verify_role(logical_id, props, state, expect, differ, *_: Any) -> None:
    role = state["roles"][logical_id]
    expect(logical_id, "AssumeRolePolicyDocument", props["AssumeRolePolicyDocument"], role["assume_role_policy"])
    want = {policy["PolicyName"]: policy["PolicyDocument"] for policy in props.get("Policies") or []}
    expect(logical_id, "Policies", want, role["inline_policies"])
    expect(logical_id, "ManagedPolicyArns", sorted(props.get("ManagedPolicyArns") or []), sorted(role["managed_policies"]))
    for arn, document in role["managed_policies"].items():
        if arn in managed_policies.BY_ARN and _normal(document) != _normal(managed_policies.BY_ARN[arn]):
            differ(logical_id, f"managed policy {arn}", managed_policies.BY_ARN[arn], document)
    want_tags = _tag_map(props.get("Tags"))
    if any(role["tags"].get(key) != value for key, value in want_tags.items()):
        differ(logical_id, "Tags", want_tags, role["tags"])


def _verify_permission(logical_id, props, state, expect, differ, by_name, by_arn, *_: Any) -> None:
    target = props["FunctionName"]
    function = by_name.get(target) or by_arn.get(target)
    if function is None:
        differ(logical_id, "FunctionName", target, "no such function")
        return
    statement = next((p for p in function["permissions"] if p["sid"] == logical_id), None)
    if statement is None:
        differ(logical_id, "statement", logical_id, [p["sid"] for p in function["permissions"]])
        return
    expect(logical_id, "Principal", props["Principal"], statement["principal"])
    expect(logical_id, "Action", props["Action"], statement["action"])
    expect(logical_id, "SourceArn", props.get("SourceArn"), statement["source_arn"])
    expect(logical_id, "SourceAccount", props.get("SourceAccount"), statement["source_account"])


def _verify_mapping(logical_id, props, state, expect, differ, by_name, by_arn, *_: Any) -> None:
    function = by_name.get(props["FunctionName"]) or by_arn.get(props["FunctionName"])
    mapping = next(
        (m for m in state["event_source_mappings"] if function and m["function_arn"] == function["arn"] and m["source_arn"] == props["EventSourceArn"]),
        None,
    )
    if mapping is None:
        differ(logical_id, "mapping", f"{props['EventSourceArn']} -> {props['FunctionName']}", "none")
        return
    expect(logical_id, "BatchSize", props.get("BatchSize", 10), mapping["batch_size"])
    expect(logical_id, "FunctionResponseTypes", props.get("FunctionResponseTypes", []), mapping["function_response_types"])
    expect(logical_id, "Enabled", props.get("Enabled", True), mapping["enabled"])
    if "MaximumBatchingWindowInSeconds" in props:
        expect(logical_id, "MaximumBatchingWindowInSeconds", props["MaximumBatchingWindowInSeconds"], mapping["maximum_batching_window"])


def _verify_invoke_config(logical_id, props, state, expect, differ, by_name, by_arn, *_: Any) -> None:
    function = by_name.get(props["FunctionName"]) or by_arn.get(props["FunctionName"])
    config = function["event_invoke_config"] if function else None
    if config is None:
        differ(logical_id, "event invoke config", props, None)
        return
    expect(logical_id, "MaximumRetryAttempts", props.get("MaximumRetryAttempts"), config["maximum_retry_attempts"])
    if "MaximumEventAgeInSeconds" in props:
        expect(logical_id, "MaximumEventAgeInSeconds", props["MaximumEventAgeInSeconds"], config["maximum_event_age_seconds"])
    destinations = props.get("DestinationConfig") or {}
    expect(logical_id, "OnFailure", (destinations.get("OnFailure") or {}).get("Destination"), config["on_failure"])
    expect(logical_id, "OnSuccess", (destinations.get("OnSuccess") or {}).get("Destination"), config["on_success"])


_QUEUE_ATTRIBUTES = {
    "FifoQueue": ("fifo", False),
    "ContentBasedDeduplication": ("content_based_deduplication", False),
    "VisibilityTimeout": ("visibility_timeout", 30),
    "MessageRetentionPeriod": ("retention", 345600),
    "DelaySeconds": ("delay", 0),
    "MaximumMessageSize": ("max_message_size", 1048576),  # SQS default since 2025 (1 MiB)
    "ReceiveMessageWaitTimeSeconds": ("receive_wait", 0),
    "SqsManagedSseEnabled": ("sse", True),
    "DeduplicationScope": ("deduplication_scope", None),
    "FifoThroughputLimit": ("fifo_throughput_limit", None),
}


def _verify_queue(logical_id, props, state, expect, differ, *_: Any) -> None:
    queue = state["queues"][logical_id]
    for name, (field, default) in _QUEUE_ATTRIBUTES.items():
        if name in props or default is not None:
            expect(logical_id, name, props.get(name, default), queue[field])
    if "QueueName" in props:
        expect(logical_id, "QueueName", props["QueueName"], queue["name"])
    redrive = props.get("RedrivePolicy")
    got = queue["redrive_policy"]
    if redrive:
        if got is None:
            differ(logical_id, "RedrivePolicy", redrive, None)
        else:
            expect(logical_id, "RedrivePolicy.deadLetterTargetArn", redrive["deadLetterTargetArn"], got["dead_letter_target_arn"])
            expect(logical_id, "RedrivePolicy.maxReceiveCount", redrive["maxReceiveCount"], got["max_receive_count"])
    elif got is not None:
        differ(logical_id, "RedrivePolicy", None, got)
    want_tags = _tag_map(props.get("Tags"))
    if any(queue["tags"].get(key) != value for key, value in want_tags.items()):
        differ(logical_id, "Tags", want_tags, queue["tags"])


def _keys_of(schema: list[dict[str, str]]) -> tuple[str | None, str | None]:
    return (
        next((k["AttributeName"] for k in schema if k["KeyType"] == "HASH"), None),
        next((k["AttributeName"] for k in schema if k["KeyType"] == "RANGE"), None),
    )


def _verify_table(logical_id, props, state, expect, differ, *_: Any) -> None:
    table = state["tables"][logical_id]
    expect(logical_id, "KeySchema", _keys_of(props["KeySchema"]), (table["hash_key"], table["range_key"]))
    expect(
        logical_id,
        "AttributeDefinitions",
        {d["AttributeName"]: d["AttributeType"] for d in props["AttributeDefinitions"]},
        table["attribute_definitions"],
    )
    for kind, field in (("GlobalSecondaryIndexes", "gsis"), ("LocalSecondaryIndexes", "lsis")):
        want = {
            index["IndexName"]: {
                "keys": _keys_of(index["KeySchema"]),
                "projection": index["Projection"].get("ProjectionType"),
                "non_key_attributes": sorted(index["Projection"].get("NonKeyAttributes") or []),
            }
            for index in props.get(kind) or []
        }
        got = {
            name: {"keys": (index["hash_key"], index["range_key"]), "projection": index["projection"], "non_key_attributes": sorted(index["non_key_attributes"])}
            for name, index in table[field].items()
        }
        expect(logical_id, kind, want, got)
    expect(logical_id, "BillingMode", props.get("BillingMode", "PROVISIONED"), table["billing_mode"])
    ttl = props.get("TimeToLiveSpecification")
    if ttl:
        want_status = "ENABLED" if _truthy(ttl.get("Enabled")) else "DISABLED"
        expect(logical_id, "TimeToLiveSpecification", (want_status, ttl["AttributeName"] if want_status == "ENABLED" else None),
               (table["ttl"]["status"], table["ttl"]["attribute"] if table["ttl"]["status"] == "ENABLED" else None))
    pitr = _truthy((props.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled"))
    expect(logical_id, "PointInTimeRecoverySpecification", pitr, table["pitr"])
    expect(logical_id, "DeletionProtectionEnabled", _truthy(props.get("DeletionProtectionEnabled")), table["deletion_protection"])
    want_tags = _tag_map(props.get("Tags"))
    if any(table["tags"].get(key) != value for key, value in want_tags.items()):
        differ(logical_id, "Tags", want_tags, table["tags"])


def _verify_bucket(logical_id, props, state, expect, differ, *_: Any) -> None:
    bucket = state["buckets"][logical_id]
    if "BucketName" in props:
        expect(logical_id, "BucketName", props["BucketName"], bucket["name"])
    if "BucketEncryption" in props:
        want = [
            rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
            for rule in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        ]
        got = [rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] for rule in bucket["encryption"] or []]
        expect(logical_id, "BucketEncryption", want, got)
    if "PublicAccessBlockConfiguration" in props:
        expect(logical_id, "PublicAccessBlockConfiguration", props["PublicAccessBlockConfiguration"], bucket["public_access_block"])
    if "OwnershipControls" in props:
        expect(logical_id, "OwnershipControls", props["OwnershipControls"]["Rules"], bucket["ownership"])
    if "CorsConfiguration" in props:
        want = [
            {"methods": sorted(r["AllowedMethods"]), "origins": sorted(r["AllowedOrigins"]), "headers": sorted(r.get("AllowedHeaders", [])), "max_age": r.get("MaxAge")}
            for r in props["CorsConfiguration"]["CorsRules"]
        ]
        got = [
            {"methods": sorted(r["AllowedMethods"]), "origins": sorted(r["AllowedOrigins"]), "headers": sorted(r.get("AllowedHeaders", [])), "max_age": r.get("MaxAgeSeconds")}
            for r in bucket["cors"] or []
        ]
        expect(logical_id, "CorsConfiguration", want, got)
    if "LifecycleConfiguration" in props:
        expect(logical_id, "LifecycleConfiguration", lifecycle_rules(props["LifecycleConfiguration"]["Rules"]), bucket["lifecycle"])
    if "VersioningConfiguration" in props:
        expect(logical_id, "VersioningConfiguration", props["VersioningConfiguration"]["Status"], bucket["versioning"])
    notification = props.get("NotificationConfiguration") or {}
    for source, kind, target, field in (
        ("LambdaConfigurations", "lambda", "Function", "function_arn"),
        ("QueueConfigurations", "queue", "Queue", "queue_arn"),
        ("TopicConfigurations", "topic", "Topic", "topic_arn"),
    ):
        want = []
        for item in notification.get(source) or []:
            rules = ((item.get("Filter") or {}).get("S3Key") or {}).get("Rules") or []
            want.append({
                "target": item[target],
                "events": [item["Event"]],
                "prefix": next((r["Value"] for r in rules if r["Name"].lower() == "prefix"), ""),
                "suffix": next((r["Value"] for r in rules if r["Name"].lower() == "suffix"), ""),
            })
        got = [
            {"target": n[field], "events": n["events"], "prefix": n["prefix"], "suffix": n["suffix"]}
            for n in bucket["notifications"][kind]
        ]
        expect(logical_id, f"NotificationConfiguration.{source}", want, got)
    want_tags = _tag_map(props.get("Tags"))
    if any(bucket["tags"].get(key) != value for key, value in want_tags.items()):
        differ(logical_id, "Tags", want_tags, bucket["tags"])


def _verify_bucket_policy(logical_id, props, state, expect, differ, *_: Any) -> None:
    bucket = next((b for b in state["buckets"].values() if b["name"] == props["Bucket"]), None)
    if bucket is None:
        differ(logical_id, "Bucket", props["Bucket"], "no such bucket")
        return
    expect(logical_id, "PolicyDocument", props["PolicyDocument"], bucket["policy"])


def _verify_secret(logical_id, props, state, expect, differ, *_: Any) -> None:
    secret = state["secrets"][logical_id]
    if not secret["has_value"]:
        differ(logical_id, "GenerateSecretString", "a generated value", "no value")
    if "Description" in props:
        expect(logical_id, "Description", props["Description"], secret["description"])


def _verify_topic(logical_id, props, state, expect, differ, *_: Any) -> None:
    topic = state["topics"][logical_id]
    if "DisplayName" in props:
        expect(logical_id, "DisplayName", props["DisplayName"], topic["display_name"])


def _verify_subscription(logical_id, props, state, expect, differ, *_: Any) -> None:
    topic = next((t for t in state["topics"].values() if t["arn"] == props["TopicArn"]), None)
    found = topic and any(s["protocol"] == props["Protocol"] and s["endpoint"] == props["Endpoint"] for s in topic["subscriptions"])
    if not found:
        differ(logical_id, "subscription", f"{props['Protocol']}:{props['Endpoint']}", topic["subscriptions"] if topic else None)


def _verify_alarm(logical_id, props, state, expect, differ, *_: Any) -> None:
    alarm = state["alarms"][logical_id]
    for name, field in (
        ("Namespace", "namespace"),
        ("MetricName", "metric_name"),
        ("Statistic", "statistic"),
        ("ExtendedStatistic", "extended_statistic"),
        ("Period", "period"),
        ("EvaluationPeriods", "evaluation_periods"),
        ("DatapointsToAlarm", "datapoints_to_alarm"),
        ("Threshold", "threshold"),
        ("ComparisonOperator", "comparison_operator"),
        ("TreatMissingData", "treat_missing_data"),
        ("AlarmActions", "alarm_actions"),
        ("OKActions", "ok_actions"),
    ):
        if name in props:
            expect(logical_id, name, props[name], alarm[field])
    if "Dimensions" in props:
        expect(logical_id, "Dimensions", {d["Name"]: d["Value"] for d in props["Dimensions"]}, alarm["dimensions"])
    if "Metrics" in props:
        expect(logical_id, "Metrics", sorted(m["Id"] for m in props["Metrics"]), sorted(m["Id"] for m in alarm["metrics"]))


def _verify_dashboard(logical_id, props, state, expect, differ, *_: Any) -> None:
    dashboard = state["dashboards"][logical_id]
    expect(logical_id, "DashboardBody", json.loads(props["DashboardBody"]), dashboard["body"])


def _verify_log_group(logical_id, props, state, expect, differ, *_: Any) -> None:
    name = props.get("LogGroupName")
    group = state["log_groups"].get(name) if name else next((g for g in state["log_groups"].values() if g["logical_id"] == logical_id), None)
    if group is None:
        differ(logical_id, "LogGroupName", name, "no such log group")
        return
    expect(logical_id, "RetentionInDays", props.get("RetentionInDays"), group["retention_in_days"])


def _verify_origin_access_control(logical_id, props, state, expect, differ, *_: Any) -> None:
    got = state["origin_access_controls"][logical_id]["config"]
    for key, want in props["OriginAccessControlConfig"].items():
        expect(logical_id, f"OriginAccessControlConfig.{key}", want, got.get(key))


def _verify_cache_policy(logical_id, props, state, expect, differ, *_: Any) -> None:
    expect(logical_id, "CachePolicyConfig", props["CachePolicyConfig"], state["cache_policies"][logical_id]["config"])


def _verify_distribution(logical_id, props, state, expect, differ, *_: Any) -> None:
    distribution = state["distributions"][logical_id]
    want = cloudfront_distribution_config(props["DistributionConfig"], caller_reference="")
    got = distribution["config"]
    for key in ("Enabled", "Comment", "HttpVersion", "PriceClass", "IsIPV6Enabled"):
        if key in want:
            expect(logical_id, f"DistributionConfig.{key}", want[key], got.get(key))
    got_origins = {o["Id"]: o for o in (got.get("Origins") or {}).get("Items") or []}
    for origin in want["Origins"]["Items"]:
        found = got_origins.get(origin["Id"]) or {}
        for key in ("DomainName", "OriginAccessControlId"):
            if key in origin:
                expect(logical_id, f"origin {origin['Id']} {key}", origin[key], found.get(key))
    behavior = got.get("DefaultCacheBehavior") or {}
    for key, value in want["DefaultCacheBehavior"].items():
        if key == "AllowedMethods":
            expect(logical_id, "AllowedMethods", sorted(value["Items"]), sorted((behavior.get(key) or {}).get("Items") or []))
            if "CachedMethods" in value:
                cached = ((behavior.get(key) or {}).get("CachedMethods") or {}).get("Items") or []
                expect(logical_id, "CachedMethods", sorted(value["CachedMethods"]["Items"]), sorted(cached))
        else:
            expect(logical_id, f"DefaultCacheBehavior.{key}", value, behavior.get(key))
    if props.get("Tags"):
        expect(logical_id, "Tags", {t["Key"]: t["Value"] for t in props["Tags"]}, distribution["tags"])


def _verify_api(logical_id, props, state, expect, differ, by_name, by_arn, *_: Any) -> None:
    api = state["http_apis"][logical_id]
    body = props.get("Body") or {}
    want = {
        key: {"uri": integration["uri"], "format": str(integration.get("payloadFormatVersion", "2.0"))}
        for key, integration in route_keys_of_body(body).items()
    }
    got = {key: {"uri": route["integration_uri"], "format": route["payload_format_version"]} for key, route in api["routes"].items()}
    for key in sorted(set(want) | set(got)):
        if want.get(key) != got.get(key):
            differ(logical_id, f"route {key}", want.get(key), got.get(key))
    cors = body.get("x-amazon-apigateway-cors")
    if cors:
        got_cors = api["cors"] or {}
        for key, field in (("allowOrigins", "allow_origins"), ("allowMethods", "allow_methods"), ("allowHeaders", "allow_headers"), ("maxAge", "max_age")):
            if key in cors:
                expect(logical_id, f"cors {key}", cors[key], got_cors.get(field))
    expect(logical_id, "name", (body.get("info") or {}).get("title"), api["name"])


def _verify_stage(logical_id, props, state, expect, differ, *_: Any) -> None:
    api = next((a for a in state["http_apis"].values() if a["id"] == props["ApiId"]), None)
    stage = api["stages"].get(props["StageName"]) if api else None
    if stage is None:
        differ(logical_id, "StageName", props["StageName"], "no such stage")
        return
    settings = props.get("DefaultRouteSettings") or {}
    if "ThrottlingBurstLimit" in settings:
        expect(logical_id, "ThrottlingBurstLimit", settings["ThrottlingBurstLimit"], stage["throttling_burst_limit"])
    if "ThrottlingRateLimit" in settings:
        expect(logical_id, "ThrottlingRateLimit", settings["ThrottlingRateLimit"], stage["throttling_rate_limit"])
    access = props.get("AccessLogSettings")
    got = stage["access_log"]
    expect(logical_id, "AccessLogSettings", access, {"DestinationArn": got["destination_arn"], "Format": got["format"]} if got else None)
    expect(logical_id, "AutoDeploy", props.get("AutoDeploy", False), stage["auto_deploy"])


_VERIFIERS: dict[str, Callable[..., None]] = {
    "AWS::Lambda::Function": _verify_function,
    "AWS::IAM::Role": _verify_role,
    "AWS::Lambda::Permission": _verify_permission,
    "AWS::Lambda::EventSourceMapping": _verify_mapping,
    "AWS::Lambda::EventInvokeConfig": _verify_invoke_config,
    "AWS::SQS::Queue": _verify_queue,
    "AWS::DynamoDB::Table": _verify_table,
    "AWS::S3::Bucket": _verify_bucket,
    "AWS::S3::BucketPolicy": _verify_bucket_policy,
    "AWS::SecretsManager::Secret": _verify_secret,
    "AWS::SNS::Topic": _verify_topic,
    "AWS::SNS::Subscription": _verify_subscription,
    "AWS::CloudWatch::Alarm": _verify_alarm,
    "AWS::CloudWatch::Dashboard": _verify_dashboard,
    "AWS::Logs::LogGroup": _verify_log_group,
    "AWS::ApiGatewayV2::Api": _verify_api,
    "AWS::ApiGatewayV2::Stage": _verify_stage,
    "AWS::CloudFront::OriginAccessControl": _verify_origin_access_control,
    "AWS::CloudFront::CachePolicy": _verify_cache_policy,
    "AWS::CloudFront::Distribution": _verify_distribution,
}
