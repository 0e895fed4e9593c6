"""The deployed state, read back from the emulated services (moto) through their
APIs, into one plain dict. Never from the template: the template said X, moto
may have stored Y, and the checks (stage 3) and the run (stages 4–5) must see Y.

    read_deployed(session_or_endpoint, stack_name, region="us-east-1") -> dict

`session_or_endpoint` is a boto3 Session already pointed at the emulator (its
clients get `endpoint_url` from the caller's config) or the emulator's base URL
("http://127.0.0.1:PORT"), in which case dummy credentials are used.

The shape (keys are stable; maps are keyed by CloudFormation logical id unless
said otherwise; values not present in the deployment are None or empty):

    {
      "stack_name": str, "stack_id": str, "region": str, "account": str, "partition": "aws",
      "parameters": {name: str},                 # as the stack was created
      "outputs": {name: str},                    # the template's own outputs

      "functions": {logical_id: {
          "logical_id", "name", "arn",
          "binary": str | None,                  # Metadata.BuildProperties.Binary of the translated template
          "memory_size": int, "timeout": int, "architectures": [str], "runtime": str, "handler": str,
          "description": str, "tracing": str | None,
          "environment": {str: str},             # as deployed (values always strings, as Lambda gives them)
          "role_arn": str, "role_logical_id": str | None,
          "reserved_concurrency": int | None,
          "tags": {str: str},
          "log_group": str,                      # /aws/lambda/<name>, where Lambda writes
          "permissions": [{"sid", "principal", "action", "source_arn", "source_account"}],
          "event_invoke_config": {"maximum_retry_attempts", "maximum_event_age_seconds",
                                  "on_failure", "on_success"} | None,
          "code_sha256": str, "code_size": int,
      }},
      "roles": {logical_id: {
          "logical_id", "name", "arn",
          "assume_role_policy": dict,
          "inline_policies": {policy_name: document},
          "managed_policies": {arn: document | None},
          "tags": {str: str},
      }},
      "http_apis": {logical_id: {
          "logical_id", "id", "name", "endpoint", "protocol",
          "cors": {"allow_origins", "allow_methods", "allow_headers", "expose_headers",
                   "max_age", "allow_credentials"} | None,
          "routes": {route_key: {"route_id", "integration_id", "integration_type", "integration_uri",
                                 "function_arn", "function_logical_id", "payload_format_version",
                                 "timeout_ms", "authorization_type"}},
          "default_route": {same as a route} | None,   # the `$default` route, also in "routes"
          "stages": {stage_name: {"name", "auto_deploy",
                                  "throttling_burst_limit", "throttling_rate_limit", "detailed_metrics",
                                  "route_settings": dict,
                                  "access_log": {"destination_arn", "format"} | None, "tags"}},
          "stage": {same as a stage} | None,       # the `$default` stage, else the only one
          "tags": {str: str},
      }},
      "http_api": {same as one http_apis entry} | None,    # when there is exactly one

      "buckets": {logical_id: {
          "logical_id", "name", "arn",
          "notifications": {"lambda": [{"id", "function_arn", "events": [str], "prefix": str, "suffix": str}],
                            "queue": [... "queue_arn" ...], "topic": [... "topic_arn" ...]},
          "policy": dict | None, "policy_source": "s3" | "adapter-record" | None,
          "cors": [dict] | None, "lifecycle": [dict] | None, "encryption": [dict] | None,
          "public_access_block": dict | None, "ownership": [dict] | None, "versioning": str | None,
          "tags": {str: str},
      }},
      "bucket": {same as one buckets entry} | None,

      "queues": {logical_id: {
          "logical_id", "name", "url", "arn", "fifo": bool,
          "visibility_timeout": int, "retention": int, "delay": int, "max_message_size": int,
          "receive_wait": int, "content_based_deduplication": bool,
          "deduplication_scope": str | None, "fifo_throughput_limit": str | None,
          "redrive_policy": {"dead_letter_target_arn", "max_receive_count": int} | None,
          "sse": bool, "attributes": {str: str}, "tags": {str: str},
      }},
      "event_source_mappings": [{"uuid", "function_arn", "function_logical_id", "source_arn",
                                 "batch_size", "maximum_batching_window", "function_response_types",
                                 "enabled": bool, "state"}],
      "secrets": {logical_id: {"logical_id", "arn", "name", "has_value": bool, "description", "tags"}},
      "secret": {same} | None,
      "tables": {logical_id: {
          "logical_id", "name", "arn",
          "hash_key": str, "range_key": str | None,
          "attribute_definitions": {name: type},
          "gsis": {index_name: {"hash_key", "range_key", "projection", "non_key_attributes"}},
          "lsis": {index_name: {...same...}},
          "ttl": {"status", "attribute"},
          "billing_mode": str, "pitr": bool, "sse": dict | None, "deletion_protection": bool,
          "stream": dict | None, "tags": {str: str},
      }},
      "table": {same} | None,
      "log_groups": {name: {"name", "arn", "retention_in_days": int | None, "logical_id": str | None}},
      "alarms": {logical_id: {"name", "arn", "namespace", "metric_name", "dimensions": {name: value},
                              "statistic", "extended_statistic", "period", "evaluation_periods",
                              "datapoints_to_alarm", "threshold", "comparison_operator",
                              "treat_missing_data", "alarm_actions", "ok_actions", "metrics"}},
      "topics": {logical_id: {"logical_id", "arn", "name", "display_name",
                              "subscriptions": [{"protocol", "endpoint", "arn"}], "tags"}},
      "topic": {same} | None,
      "dashboards": {logical_id: {"name", "body": dict}},
      "distributions": {logical_id: {"id", "arn", "domain_name", "config": dict (GetDistributionConfig),
                                     "tags": {str: str}}},
      "origin_access_controls": {logical_id: {"id", "config": dict}},
      "cache_policies": {logical_id: {"id", "config": dict}},   # kept on record (moto has none)
      "physical_ids": {logical_id: physical id},
      "types": {logical_id: resource type},
      "not_carried": {logical_id: {property: why}},   # what the rehearsal could not put into moto
    }
"""

from __future__ import annotations

import ast
import concurrent.futures
import json
import re
import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from . import ledger as ledger_module

ACCOUNT_FALLBACK = "123456789012"
_WORKERS = 8

_SERVICES = (
    "cloudformation",
    "cloudfront",
    "lambda",
    "iam",
    "apigatewayv2",
    "s3",
    "sqs",
    "secretsmanager",
    "dynamodb",
    "logs",
    "cloudwatch",
    "sns",
    "sts",
)


class _Clients:
    def __init__(self, session_or_endpoint: Any, region: str) -> None:
        if isinstance(session_or_endpoint, str):
            self.endpoint: str | None = session_or_endpoint
            self.session = boto3.session.Session(
                aws_access_key_id="rehearsal", aws_secret_access_key="rehearsal", region_name=region
            )
        else:
            self.endpoint = None
            self.session = session_or_endpoint
        self.region = region
        # Made up front: clients are thread-safe, their creation from one session is not.
        self._clients: dict[str, Any] = {}
        for service in _SERVICES:
            kwargs: dict[str, Any] = {
                "region_name": region,
                "config": Config(retries={"max_attempts": 2}, max_pool_connections=_WORKERS),
            }
            if self.endpoint:
                kwargs["endpoint_url"] = self.endpoint
            self._clients[service] = self.session.client(service, **kwargs)
        self._managed: dict[str, Any] = {}
        self._managed_lock = threading.Lock()

    def __getattr__(self, attribute: str) -> Any:
        service = "lambda" if attribute == "lambda_" else attribute  # `lambda` is a Python keyword
        if service not in _SERVICES:
            raise AttributeError(service)
        return self._clients[service]

    def managed_policy(self, arn: str) -> Any:
        """A managed policy's default document (read once per ARN)."""
        with self._managed_lock:
            if arn in self._managed:
                return self._managed[arn]
        policy = _optional(self.iam.get_policy, PolicyArn=arn)
        document = None
        if policy:
            version = self.iam.get_policy_version(PolicyArn=arn, VersionId=policy["Policy"]["DefaultVersionId"])
            document = _document(version["PolicyVersion"]["Document"])
        with self._managed_lock:
            self._managed[arn] = document
        return document


def _parallel(function: Any, items: dict[str, Any]) -> dict[str, Any]:
    """{key: function(key, value)} computed on a thread pool (the emulator serves requests in parallel)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        futures = {key: pool.submit(function, key, value) for key, value in items.items()}
        return {key: future.result() for key, future in futures.items()}


def _missing(error: ClientError) -> bool:
    code = error.response.get("Error", {}).get("Code", "")
    status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return status == 404 or "NotFound" in code or code.startswith("NoSuch") or code == "ResourceNotFoundException"


def _optional(call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except ClientError as error:
        if _missing(error):
            return None
        raise


def _tags_list(tags: list[dict[str, str]] | None) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tags or []}


def _string(value: Any) -> str:
    # Lambda's API gives environment values as strings; moto keeps what
    # CloudFormation's parameter substitution produced (numbers, booleans).
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_INVOCATIONS = re.compile(r"^arn:[^:]+:apigateway:[^:]+:lambda:path/[^/]+/functions/(?P<arn>.+)/invocations$")


def function_arn_of_integration(uri: str | None) -> str | None:
    """The Lambda ARN an HTTP API integration URI names (either form API Gateway accepts)."""
    if not uri:
        return None
    match = _INVOCATIONS.match(uri)
    if match:
        return match.group("arn")
    return uri if uri.startswith("arn:") and ":lambda:" in uri and ":function:" in uri else None


def read_deployed(session_or_endpoint: Any, stack_name: str, region: str = "us-east-1") -> dict[str, Any]:
    """The deployed state of `stack_name` (see the module's docstring for the shape)."""
    aws = _Clients(session_or_endpoint, region)
    stack = aws.cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    stack_id = stack["StackId"]
    account = stack_id.split(":")[4] or ACCOUNT_FALLBACK
    template = aws.cloudformation.get_template(StackName=stack_name)["TemplateBody"]
    if isinstance(template, str):
        template = json.loads(template)
    resources_in_template = template.get("Resources") or {}
    ledger = ledger_module.read(aws.s3, account, region, stack_name)

    physical: dict[str, str] = {}
    types: dict[str, str] = {}
    paginator = aws.cloudformation.get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=stack_name):
        for row in page["StackResourceSummaries"]:
            if row.get("LogicalResourceId") and row.get("ResourceType"):
                physical[row["LogicalResourceId"]] = row.get("PhysicalResourceId", "")
                types[row["LogicalResourceId"]] = row["ResourceType"]
    for logical_id, entry in (ledger.get("resources") or {}).items():
        physical[logical_id] = entry["physical_id"]
        types[logical_id] = entry["type"]

    def of_type(kind: str) -> list[str]:
        return sorted(logical_id for logical_id, found in types.items() if found == kind)

    state: dict[str, Any] = {
        "stack_name": stack_name,
        "stack_id": stack_id,
        "region": region,
        "account": account,
        "partition": "aws",
        "parameters": {p["ParameterKey"]: p.get("ParameterValue", "") for p in stack.get("Parameters") or []},
        "outputs": {
            o["OutputKey"]: o.get("OutputValue", "")
            for o in stack.get("Outputs") or []
            if not o["OutputKey"].startswith("Rehearsal")
        },
        "physical_ids": physical,
        "types": types,
        "not_carried": ledger.get("not_carried") or {},
    }

    def each(kind: str, reader: Any) -> dict[str, Any]:
        return _parallel(reader, {logical_id: physical[logical_id] for logical_id in of_type(kind)})

    roles = each("AWS::IAM::Role", lambda logical_id, name: _role(aws, logical_id, name))
    role_by_arn = {role["arn"]: logical_id for logical_id, role in roles.items()}
    state["roles"] = roles

    functions = each(
        "AWS::Lambda::Function",
        lambda logical_id, name: _function(
            aws, logical_id, name, (resources_in_template.get(logical_id) or {}).get("Metadata") or {}, role_by_arn
        ),
    )
    state["functions"] = functions
    function_by_arn = {function["arn"]: logical_id for logical_id, function in functions.items()}

    state["http_apis"] = each("AWS::ApiGatewayV2::Api", lambda logical_id, api_id: _http_api(aws, logical_id, api_id, function_by_arn))
    state["buckets"] = each("AWS::S3::Bucket", lambda logical_id, name: _bucket(aws, logical_id, name, ledger))
    state["queues"] = each("AWS::SQS::Queue", lambda logical_id, url: _queue(aws, logical_id, url))
    state["event_source_mappings"] = _event_source_mappings(aws, functions, function_by_arn)
    state["secrets"] = each("AWS::SecretsManager::Secret", lambda logical_id, arn: _secret(aws, logical_id, arn))
    state["tables"] = each("AWS::DynamoDB::Table", lambda logical_id, name: _table(aws, logical_id, name))
    log_group_ids = {physical[logical_id]: logical_id for logical_id in of_type("AWS::Logs::LogGroup")}
    state["log_groups"] = _log_groups(aws, log_group_ids)
    state["alarms"] = _alarms(aws, {logical_id: physical[logical_id] for logical_id in of_type("AWS::CloudWatch::Alarm")})
    state["topics"] = each("AWS::SNS::Topic", lambda logical_id, arn: _topic(aws, logical_id, arn))
    state["dashboards"] = each("AWS::CloudWatch::Dashboard", lambda logical_id, name: _dashboard(aws, name))
    state["distributions"] = each(
        "AWS::CloudFront::Distribution",
        lambda logical_id, ident: _distribution(aws, ident, account, (ledger.get("records") or {}).get(logical_id) or {}),
    )
    state["origin_access_controls"] = each(
        "AWS::CloudFront::OriginAccessControl",
        lambda logical_id, ident: {
            "id": ident,
            "config": aws.cloudfront.get_origin_access_control(Id=ident)["OriginAccessControl"]["OriginAccessControlConfig"],
        },
    )
    records = ledger.get("records") or {}
    state["cache_policies"] = {
        logical_id: {"id": physical[logical_id], "config": (records.get(logical_id) or {}).get("CachePolicyConfig")}
        for logical_id in of_type("AWS::CloudFront::CachePolicy")
    }
    for singular, plural in (
        ("http_api", "http_apis"),
        ("bucket", "buckets"),
        ("secret", "secrets"),
        ("table", "tables"),
        ("topic", "topics"),
    ):
        values = list(state[plural].values())
        state[singular] = values[0] if len(values) == 1 else None
    return state


# ----------------------------------------------------------------- per type


def _distribution(aws: Any, ident: str, account: str, record: dict[str, Any]) -> dict[str, Any]:
    """A distribution as CloudFront reports it, with two of moto's gaps filled knowingly: its ARN is
    written as AWS writes it (`arn:aws:cloudfront::<account>:distribution/<id>`, no region; moto
    leaves out the empty region field, and bucket policies name the AWS form), and each origin's
    OriginAccessControlId, which moto does not store, comes from the adapter's record
    (deploy.CARRY explains both)."""
    found = aws.cloudfront.get_distribution(Id=ident)["Distribution"]
    tags = aws.cloudfront.list_tags_for_resource(Resource=found["ARN"])["Tags"].get("Items") or []
    config = aws.cloudfront.get_distribution_config(Id=ident)["DistributionConfig"]
    controls = record.get("origin_access_control_ids") or {}
    for origin in (config.get("Origins") or {}).get("Items") or []:
        if not origin.get("OriginAccessControlId") and origin.get("Id") in controls:
            origin["OriginAccessControlId"] = controls[origin["Id"]]
    return {
        "id": ident,
        "arn": f"arn:aws:cloudfront::{account}:distribution/{ident}",
        "domain_name": found["DomainName"],
        "config": config,
        "tags": {tag["Key"]: tag.get("Value", "") for tag in tags},
    }


def _document(document: Any) -> Any:
    """A policy document as a dict. moto's CloudFormation stores inline role policies as Python
    text (`str` of a dict) rather than JSON: read as such (a literal, never executed). Anything
    else is kept as {"unparsable": text}."""
    if not isinstance(document, str):
        return document
    try:
        return json.loads(document)
    except json.JSONDecodeError:
        pass
    try:
        parsed = ast.literal_eval(document)
    except (ValueError, SyntaxError):
        return {"unparsable": document}
    return parsed if isinstance(parsed, dict) else {"unparsable": document}


def _role(aws: _Clients, logical_id: str, name: str) -> dict[str, Any]:
    role = aws.iam.get_role(RoleName=name)["Role"]
    assume = role.get("AssumeRolePolicyDocument")
    assume = _document(assume)
    inline = {}
    for policy_name in aws.iam.list_role_policies(RoleName=name)["PolicyNames"]:
        document = aws.iam.get_role_policy(RoleName=name, PolicyName=policy_name)["PolicyDocument"]
        inline[policy_name] = _document(document)
    managed: dict[str, Any] = {}
    for attached in aws.iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        managed[attached["PolicyArn"]] = aws.managed_policy(attached["PolicyArn"])
    return {
        "logical_id": logical_id,
        "name": name,
        "arn": role["Arn"],
        "assume_role_policy": assume,
        "inline_policies": inline,
        "managed_policies": managed,
        "tags": _tags_list(role.get("Tags")),
    }


def _function(
    aws: _Clients, logical_id: str, name: str, metadata: dict[str, Any], role_by_arn: dict[str, str]
) -> dict[str, Any]:
    lam = aws.lambda_
    config = lam.get_function_configuration(FunctionName=name)
    arn = config["FunctionArn"]
    concurrency = _optional(lam.get_function_concurrency, FunctionName=name) or {}
    policy = _optional(lam.get_policy, FunctionName=name)
    permissions = []
    if policy:
        for statement in json.loads(policy["Policy"]).get("Statement", []):
            principal = statement.get("Principal")
            if isinstance(principal, dict):
                principal = principal.get("Service") or principal.get("AWS")
            condition = statement.get("Condition") or {}
            source_arn = (condition.get("ArnLike") or {}).get("AWS:SourceArn") or (condition.get("ArnEquals") or {}).get(
                "AWS:SourceArn"
            )
            source_account = (condition.get("StringEquals") or {}).get("AWS:SourceAccount")
            permissions.append(
                {
                    "sid": statement.get("Sid"),
                    "principal": principal,
                    "action": statement.get("Action"),
                    "source_arn": source_arn,
                    "source_account": source_account,
                }
            )
    invoke_config = _optional(lam.get_function_event_invoke_config, FunctionName=name)
    event_invoke_config = None
    if invoke_config:
        destinations = invoke_config.get("DestinationConfig") or {}
        event_invoke_config = {
            "maximum_retry_attempts": invoke_config.get("MaximumRetryAttempts"),
            "maximum_event_age_seconds": invoke_config.get("MaximumEventAgeInSeconds"),
            "on_failure": (destinations.get("OnFailure") or {}).get("Destination"),
            "on_success": (destinations.get("OnSuccess") or {}).get("Destination"),
        }
    tags = (_optional(lam.list_tags, Resource=arn) or {}).get("Tags") or {}
    return {
        "logical_id": logical_id,
        "name": name,
        "arn": arn,
        "binary": (metadata.get("BuildProperties") or {}).get("Binary"),
        "memory_size": config.get("MemorySize"),
        "timeout": config.get("Timeout"),
        "architectures": config.get("Architectures") or [],
        "runtime": config.get("Runtime"),
        "handler": config.get("Handler"),
        "description": config.get("Description", ""),
        "tracing": (config.get("TracingConfig") or {}).get("Mode"),
        "environment": {key: _string(value) for key, value in ((config.get("Environment") or {}).get("Variables") or {}).items()},
        "role_arn": config.get("Role"),
        "role_logical_id": role_by_arn.get(config.get("Role", "")),
        "reserved_concurrency": concurrency.get("ReservedConcurrentExecutions"),
        "tags": dict(tags),
        "log_group": f"/aws/lambda/{name}",
        "permissions": permissions,
        "event_invoke_config": event_invoke_config,
        "code_sha256": config.get("CodeSha256"),
        "code_size": config.get("CodeSize"),
    }


def _http_api(aws: _Clients, logical_id: str, api_id: str, function_by_arn: dict[str, str]) -> dict[str, Any]:
    gateway = aws.apigatewayv2
    api = gateway.get_api(ApiId=api_id)
    integrations = {item["IntegrationId"]: item for item in gateway.get_integrations(ApiId=api_id).get("Items", [])}
    routes = {}
    for route in gateway.get_routes(ApiId=api_id).get("Items", []):
        target = route.get("Target") or ""
        integration_id = target.split("/", 1)[1] if target.startswith("integrations/") else None
        integration = integrations.get(integration_id or "", {})
        function_arn = function_arn_of_integration(integration.get("IntegrationUri"))
        routes[route["RouteKey"]] = {
            "route_id": route["RouteId"],
            "integration_id": integration_id,
            "integration_type": integration.get("IntegrationType"),
            "integration_uri": integration.get("IntegrationUri"),
            "function_arn": function_arn,
            "function_logical_id": function_by_arn.get(function_arn or ""),
            "payload_format_version": integration.get("PayloadFormatVersion"),
            "timeout_ms": integration.get("TimeoutInMillis"),
            "authorization_type": route.get("AuthorizationType"),
        }
    stages = {}
    for stage in gateway.get_stages(ApiId=api_id).get("Items", []):
        settings = stage.get("DefaultRouteSettings") or {}
        access = stage.get("AccessLogSettings") or {}
        stages[stage["StageName"]] = {
            "name": stage["StageName"],
            "auto_deploy": stage.get("AutoDeploy", False),
            "throttling_burst_limit": settings.get("ThrottlingBurstLimit"),
            "throttling_rate_limit": settings.get("ThrottlingRateLimit"),
            "detailed_metrics": settings.get("DetailedMetricsEnabled"),
            "route_settings": stage.get("RouteSettings") or {},
            "access_log": {"destination_arn": access.get("DestinationArn"), "format": access.get("Format")}
            if access.get("DestinationArn")
            else None,
            "tags": stage.get("Tags") or {},
        }
    cors = api.get("CorsConfiguration")
    return {
        "logical_id": logical_id,
        "id": api_id,
        "name": api.get("Name"),
        "endpoint": api.get("ApiEndpoint"),
        "protocol": api.get("ProtocolType"),
        "cors": {
            "allow_origins": cors.get("AllowOrigins", []),
            "allow_methods": cors.get("AllowMethods", []),
            "allow_headers": cors.get("AllowHeaders", []),
            "expose_headers": cors.get("ExposeHeaders", []),
            "max_age": cors.get("MaxAge"),
            "allow_credentials": cors.get("AllowCredentials"),
        }
        if cors
        else None,
        "routes": routes,
        "default_route": routes.get("$default"),
        "stages": stages,
        "stage": stages.get("$default") or (next(iter(stages.values())) if len(stages) == 1 else None),
        "tags": api.get("Tags") or {},
    }


def _filter_rules(configuration: dict[str, Any]) -> tuple[str, str]:
    rules = ((configuration.get("Filter") or {}).get("Key") or {}).get("FilterRules") or []
    prefix = next((rule["Value"] for rule in rules if rule["Name"].lower() == "prefix"), "")
    suffix = next((rule["Value"] for rule in rules if rule["Name"].lower() == "suffix"), "")
    return prefix, suffix


def _bucket(aws: _Clients, logical_id: str, name: str, ledger: dict[str, Any]) -> dict[str, Any]:
    s3 = aws.s3
    notification = s3.get_bucket_notification_configuration(Bucket=name)
    notifications: dict[str, list[dict[str, Any]]] = {"lambda": [], "queue": [], "topic": []}
    for kind, key, target in (
        ("lambda", "LambdaFunctionConfigurations", "LambdaFunctionArn"),
        ("queue", "QueueConfigurations", "QueueArn"),
        ("topic", "TopicConfigurations", "TopicArn"),
    ):
        for configuration in notification.get(key) or []:
            prefix, suffix = _filter_rules(configuration)
            entry = {
                "id": configuration.get("Id"),
                "events": configuration.get("Events") or [],
                "prefix": prefix,
                "suffix": suffix,
            }
            entry["function_arn" if kind == "lambda" else f"{kind}_arn"] = configuration.get(target)
            notifications[kind].append(entry)
    policy_source = None
    policy = _optional(s3.get_bucket_policy, Bucket=name)
    if policy:
        policy, policy_source = json.loads(policy["Policy"]), "s3"
    elif name in (ledger.get("bucket_policies") or {}):
        policy, policy_source = ledger["bucket_policies"][name], "adapter-record"
    cors = _optional(s3.get_bucket_cors, Bucket=name)
    lifecycle = _optional(s3.get_bucket_lifecycle_configuration, Bucket=name)
    encryption = _optional(s3.get_bucket_encryption, Bucket=name)
    public_access = _optional(s3.get_public_access_block, Bucket=name)
    ownership = _optional(s3.get_bucket_ownership_controls, Bucket=name)
    versioning = _optional(s3.get_bucket_versioning, Bucket=name) or {}
    tags = _optional(s3.get_bucket_tagging, Bucket=name)
    return {
        "logical_id": logical_id,
        "name": name,
        "arn": f"arn:aws:s3:::{name}",
        "notifications": notifications,
        "policy": policy,
        "policy_source": policy_source,
        "cors": cors["CORSRules"] if cors else None,
        "lifecycle": lifecycle["Rules"] if lifecycle else None,
        "encryption": encryption["ServerSideEncryptionConfiguration"]["Rules"] if encryption else None,
        "public_access_block": public_access["PublicAccessBlockConfiguration"] if public_access else None,
        "ownership": ownership["OwnershipControls"]["Rules"] if ownership else None,
        "versioning": versioning.get("Status"),
        "tags": _tags_list(tags["TagSet"]) if tags else {},
    }


def _queue(aws: _Clients, logical_id: str, url: str) -> dict[str, Any]:
    attributes = aws.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    redrive = attributes.get("RedrivePolicy")
    redrive_policy = None
    if redrive:
        parsed = json.loads(redrive)
        redrive_policy = {
            "dead_letter_target_arn": parsed.get("deadLetterTargetArn"),
            "max_receive_count": int(parsed.get("maxReceiveCount", 0)),
        }
    tags = (_optional(aws.sqs.list_queue_tags, QueueUrl=url) or {}).get("Tags") or {}
    return {
        "logical_id": logical_id,
        "name": url.rsplit("/", 1)[-1],
        "url": url,
        "arn": attributes.get("QueueArn"),
        "fifo": attributes.get("FifoQueue") == "true",
        "visibility_timeout": int(attributes.get("VisibilityTimeout", 30)),
        "retention": int(attributes.get("MessageRetentionPeriod", 345600)),
        "delay": int(attributes.get("DelaySeconds", 0)),
        "max_message_size": int(attributes.get("MaximumMessageSize", 1048576)),
        "receive_wait": int(attributes.get("ReceiveMessageWaitTimeSeconds", 0)),
        "content_based_deduplication": attributes.get("ContentBasedDeduplication") == "true",
        "deduplication_scope": attributes.get("DeduplicationScope"),
        "fifo_throughput_limit": attributes.get("FifoThroughputLimit"),
        "redrive_policy": redrive_policy,
        "sse": attributes.get("SqsManagedSseEnabled") == "true" or bool(attributes.get("KmsMasterKeyId")),
        "attributes": attributes,
        "tags": dict(tags),
    }


def _event_source_mappings(aws: _Clients, functions: dict[str, Any], function_by_arn: dict[str, str]) -> list[dict[str, Any]]:
    mappings = []
    pages = aws.lambda_.get_paginator("list_event_source_mappings").paginate()
    for mapping in (mapping for page in pages for mapping in page.get("EventSourceMappings", [])):
        if mapping.get("FunctionArn") in function_by_arn:
            arn = mapping.get("FunctionArn")
            mappings.append(
                {
                    "uuid": mapping["UUID"],
                    "function_arn": arn,
                    "function_logical_id": function_by_arn.get(arn or ""),
                    "source_arn": mapping.get("EventSourceArn"),
                    "batch_size": mapping.get("BatchSize"),
                    "maximum_batching_window": mapping.get("MaximumBatchingWindowInSeconds"),
                    "function_response_types": mapping.get("FunctionResponseTypes") or [],
                    "enabled": mapping.get("State") in ("Enabled", "Enabling", "Creating"),
                    "state": mapping.get("State"),
                }
            )
    return mappings


def _secret(aws: _Clients, logical_id: str, arn: str) -> dict[str, Any]:
    described = aws.secretsmanager.describe_secret(SecretId=arn)
    value = _optional(aws.secretsmanager.get_secret_value, SecretId=arn)
    return {
        "logical_id": logical_id,
        "arn": described["ARN"],
        "name": described["Name"],
        # Whether it holds a value; the value itself never leaves the emulator here.
        "has_value": bool(value and (value.get("SecretString") or value.get("SecretBinary"))),
        "description": described.get("Description"),
        "tags": _tags_list(described.get("Tags")),
    }


def _keys(schema: list[dict[str, str]]) -> tuple[str | None, str | None]:
    hash_key = next((key["AttributeName"] for key in schema if key["KeyType"] == "HASH"), None)
    range_key = next((key["AttributeName"] for key in schema if key["KeyType"] == "RANGE"), None)
    return hash_key, range_key


def _index(index: dict[str, Any]) -> dict[str, Any]:
    hash_key, range_key = _keys(index["KeySchema"])
    projection = index.get("Projection") or {}
    return {
        "hash_key": hash_key,
        "range_key": range_key,
        "projection": projection.get("ProjectionType"),
        "non_key_attributes": projection.get("NonKeyAttributes") or [],
    }


def _table(aws: _Clients, logical_id: str, name: str) -> dict[str, Any]:
    table = aws.dynamodb.describe_table(TableName=name)["Table"]
    hash_key, range_key = _keys(table["KeySchema"])
    ttl = aws.dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    backups = _optional(aws.dynamodb.describe_continuous_backups, TableName=name) or {}
    pitr = ((backups.get("ContinuousBackupsDescription") or {}).get("PointInTimeRecoveryDescription") or {}).get(
        "PointInTimeRecoveryStatus"
    )
    tags = _optional(aws.dynamodb.list_tags_of_resource, ResourceArn=table["TableArn"]) or {}
    return {
        "logical_id": logical_id,
        "name": name,
        "arn": table["TableArn"],
        "hash_key": hash_key,
        "range_key": range_key,
        "attribute_definitions": {d["AttributeName"]: d["AttributeType"] for d in table.get("AttributeDefinitions", [])},
        "gsis": {index["IndexName"]: _index(index) for index in table.get("GlobalSecondaryIndexes") or []},
        "lsis": {index["IndexName"]: _index(index) for index in table.get("LocalSecondaryIndexes") or []},
        "ttl": {"status": ttl.get("TimeToLiveStatus"), "attribute": ttl.get("AttributeName")},
        "billing_mode": (table.get("BillingModeSummary") or {}).get("BillingMode", "PROVISIONED"),
        "pitr": pitr == "ENABLED",
        "sse": table.get("SSEDescription"),
        "deletion_protection": bool(table.get("DeletionProtectionEnabled")),
        "stream": table.get("StreamSpecification"),
        "tags": _tags_list(tags.get("Tags")),
    }


def _log_groups(aws: _Clients, logical_ids: dict[str, str]) -> dict[str, Any]:
    groups = {}
    for page in aws.logs.get_paginator("describe_log_groups").paginate():
        for group in page.get("logGroups", []):
            name = group["logGroupName"]
            groups[name] = {
                "name": name,
                "arn": group.get("arn"),
                "retention_in_days": group.get("retentionInDays"),
                "logical_id": logical_ids.get(name),
            }
    return groups


def _alarms(aws: _Clients, names: dict[str, str]) -> dict[str, Any]:
    by_name = {}
    wanted = list(names.values())
    for start in range(0, len(wanted), 100):
        for alarm in aws.cloudwatch.describe_alarms(AlarmNames=wanted[start : start + 100]).get("MetricAlarms", []):
            by_name[alarm["AlarmName"]] = alarm
    alarms = {}
    for logical_id, name in names.items():
        alarm = by_name.get(name)
        if alarm is None:
            continue
        alarms[logical_id] = {
            "name": name,
            "arn": alarm.get("AlarmArn"),
            "description": alarm.get("AlarmDescription"),
            "namespace": alarm.get("Namespace"),
            "metric_name": alarm.get("MetricName"),
            "dimensions": {d["Name"]: d["Value"] for d in alarm.get("Dimensions") or []},
            "statistic": alarm.get("Statistic"),
            "extended_statistic": alarm.get("ExtendedStatistic"),
            "period": alarm.get("Period"),
            "evaluation_periods": alarm.get("EvaluationPeriods"),
            "datapoints_to_alarm": alarm.get("DatapointsToAlarm"),
            "threshold": alarm.get("Threshold"),
            "comparison_operator": alarm.get("ComparisonOperator"),
            "treat_missing_data": alarm.get("TreatMissingData"),
            "alarm_actions": alarm.get("AlarmActions") or [],
            "ok_actions": alarm.get("OKActions") or [],
            "metrics": alarm.get("Metrics") or [],
        }
    return alarms


def _topic(aws: _Clients, logical_id: str, arn: str) -> dict[str, Any]:
    attributes = aws.sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    subscriptions = [
        {"protocol": s.get("Protocol"), "endpoint": s.get("Endpoint"), "arn": s.get("SubscriptionArn")}
        for s in aws.sns.list_subscriptions_by_topic(TopicArn=arn).get("Subscriptions", [])
    ]
    tags = _optional(aws.sns.list_tags_for_resource, ResourceArn=arn) or {}
    return {
        "logical_id": logical_id,
        "arn": arn,
        "name": arn.rsplit(":", 1)[-1],
        "display_name": attributes.get("DisplayName"),
        "subscriptions": subscriptions,
        "tags": _tags_list(tags.get("Tags")),
    }


def _dashboard(aws: _Clients, name: str) -> dict[str, Any]:
    dashboard = aws.cloudwatch.get_dashboard(DashboardName=name)
    return {"name": name, "body": json.loads(dashboard["DashboardBody"])}
