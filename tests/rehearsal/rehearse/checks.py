"""Stage 3: the deployed state (read back from the emulator, rehearse.deployed)
against the code (the facts the tests package's `model-facts` bin prints, and
its `config-check` bin, which runs the real configuration parser), plus the
rules AWS enforces that moto does not.

Each rule is a function `rule_<name>(context)` with a docstring saying what it
checks and why; each adds findings to `context.findings`. :func:`run` calls
them all. Add a rule: write the function and list it in :data:`RULES`.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import subprocess
from pathlib import Path
from typing import Any, Callable

from . import iam
from .findings import Findings

# AWS numbers the emulator does not enforce (docs/platform-facts in the handouts).
API_GATEWAY_INTEGRATION_TIMEOUT_S = 30  # HTTP API's maximum integration timeout
LAMBDA_ENVIRONMENT_LIMIT_BYTES = 4 * 1024  # all variables of one function, names and values
SQS_VISIBILITY_FACTOR = 6  # visibility timeout ≥ 6 × the consumer's timeout (AWS's advice)
MIN_MAX_RECEIVE_COUNT = 5  # redrive after at least 5 receives (AWS's advice)
FIFO_MAX_BATCH = 10  # an SQS FIFO event source takes batches of at most 10


@dataclasses.dataclass
class Context:
    """What a rule sees."""

    state: dict[str, Any]  # rehearse.deployed.read_deployed
    facts: dict[str, Any]  # the model-facts bin's JSON
    config_check: Path  # the config-check bin
    findings: Findings

    def add(self, rule: str, resource: str, message: str) -> None:
        self.findings.add(3, rule, resource, message)

    # ------------------------------------------------------------ helpers

    def functions_by_binary(self, binary: str) -> list[dict[str, Any]]:
        return [f for f in self.state["functions"].values() if f["binary"] == binary]

    def app_functions(self) -> list[dict[str, Any]]:
        """The functions that build the application (all but the default route's: it reads no configuration)."""
        fallback = self.facts["bins"]["default_route"]
        return [f for f in self.state["functions"].values() if f["binary"] != fallback]

    def media_bucket(self) -> dict[str, Any] | None:
        """The deployed bucket the functions name in DOUYIN_MEDIA_BUCKET (None: none is; rule_environment
        reports that)."""
        names = {f["environment"].get("DOUYIN_MEDIA_BUCKET") for f in self.app_functions()} - {None}
        return next((b for b in self.state["buckets"].values() if b["name"] in names), None)

    def function_by_arn(self, arn: str | None) -> dict[str, Any] | None:
        return next((f for f in self.state["functions"].values() if f["arn"] == arn), None)

    def queue_by_arn(self, arn: str | None) -> dict[str, Any] | None:
        return next((q for q in self.state["queues"].values() if q["arn"] == arn), None)

    def routed_functions(self) -> list[dict[str, Any]]:
        """Functions some HTTP API route integrates (invoked synchronously by API Gateway)."""
        arns = {
            route["function_arn"]
            for api in self.state["http_apis"].values()
            for route in api["routes"].values()
        }
        return [f for f in self.state["functions"].values() if f["arn"] in arns]


def run(state: dict[str, Any], deployment: Any, facts: dict[str, Any] | None, config_check: Path | None, findings: Findings) -> None:
    """Stage 3: every rule of :data:`RULES` over the deployed state."""
    if facts is None or config_check is None:
        findings.add(3, "facts", "", "stage 3 needs the code's facts and the config-check bin")
        return
    context = Context(state, facts, config_check, findings)
    for rule in RULES:
        rule(context)


# ================================================================== table


def rule_table(context: Context) -> None:
    """The table as deployed is the table the code creates (`Table::create_if_missing`, which every
    test and the local server run on): the same keys and attribute types, the same indexes with the
    same key schemas and a projection that carries what the queries read, and TTL enabled on the
    attribute the code writes expiry times to. A swapped key or a missing index is a query that
    fails (or silently finds nothing) on AWS only."""
    want = context.facts["table"]
    tables = list(context.state["tables"].values())
    if len(tables) != 1:
        context.add("table", "", f"the code uses one table; the stack has {len(tables)}")
        return
    table = tables[0]
    name = table["logical_id"]
    if (table["hash_key"], table["range_key"]) != (want["hash_key"], want["range_key"]):
        context.add(
            "table-keys",
            name,
            f"key schema is ({table['hash_key']}, {table['range_key']}); the code reads and writes "
            f"({want['hash_key']}, {want['range_key']}) (store/model.rs)",
        )
    for attribute, kind in sorted(want["attribute_definitions"].items()):
        got = table["attribute_definitions"].get(attribute)
        if got != kind:
            context.add("table-attributes", name, f"attribute {attribute} is {got or 'not defined'}; the code uses type {kind}")
    for index, spec in sorted(want["gsis"].items()):
        got = table["gsis"].get(index)
        if got is None:
            context.add("table-index", name, f"index {index} is missing; the code queries it (store/model.rs)")
            continue
        if (got["hash_key"], got["range_key"]) != (spec["hash_key"], spec["range_key"]):
            context.add(
                "table-index-keys",
                name,
                f"index {index} has keys ({got['hash_key']}, {got['range_key']}); the code queries it by "
                f"({spec['hash_key']}, {spec['range_key']})",
            )
        if got["projection"] != spec["projection"] or sorted(got["non_key_attributes"]) != sorted(spec["non_key_attributes"]):
            context.add(
                "table-index-projection",
                name,
                f"index {index} projects {got['projection']} {got['non_key_attributes'] or ''}; the code reads whole "
                f"items from it ({spec['projection']})",
            )
    for index in sorted(set(table["gsis"]) - set(want["gsis"])):
        context.add("table-index", name, f"index {index} is not one the code knows (paid for, never queried)")
    ttl = table["ttl"]
    if ttl["status"] != "ENABLED" or ttl["attribute"] != want["ttl_attribute"]:
        context.add(
            "table-ttl",
            name,
            f"TTL is {ttl['status']} on {ttl['attribute']!r}; the code writes expiry times to "
            f"{want['ttl_attribute']!r} (rate windows and pending uploads would never expire)",
        )


# ================================================================= queues


def rule_queues(context: Context) -> None:
    """Every queue a function consumes (an event source mapping): FIFO when the code sends a message
    group id (SQS refuses it on a standard queue); visibility timeout at least 6× the consumer's
    timeout (AWS's advice: a slow batch is not delivered twice meanwhile); a redrive policy with a
    maxReceiveCount of at least 5 to a dead-letter queue of the same kind (FIFO to FIFO, as SQS
    requires) that keeps messages at least as long as the source (else a message can expire in the
    DLQ before anyone reads it). The mapping: enabled, batch ≤ 10 for FIFO, ReportBatchItemFailures
    on (without it a returned failure list is ignored and the whole batch counts as done)."""
    chat = context.facts["chat_queue"]
    for mapping in context.state["event_source_mappings"]:
        queue = context.queue_by_arn(mapping["source_arn"])
        function = context.function_by_arn(mapping["function_arn"])
        if queue is None or function is None:
            continue
        name = queue["logical_id"]
        if chat["sends_message_group_id"] and function["binary"] == context.facts["bins"]["queue_consumer"] and not queue["fifo"]:
            context.add("queue-fifo", name, "the code sends a MessageGroupId (chat order per conversation): the queue must be FIFO")
        if queue["visibility_timeout"] < SQS_VISIBILITY_FACTOR * function["timeout"]:
            context.add(
                "queue-visibility",
                name,
                f"VisibilityTimeout {queue['visibility_timeout']} s < {SQS_VISIBILITY_FACTOR} × "
                f"{function['logical_id']}'s Timeout {function['timeout']} s = {SQS_VISIBILITY_FACTOR * function['timeout']} s",
            )
        redrive = queue["redrive_policy"]
        if redrive is None:
            context.add("queue-redrive", name, "no redrive policy: a message that always fails is retried until it expires")
        else:
            if redrive["max_receive_count"] < MIN_MAX_RECEIVE_COUNT:
                context.add(
                    "queue-redrive",
                    name,
                    f"maxReceiveCount {redrive['max_receive_count']} < {MIN_MAX_RECEIVE_COUNT}: a throttled or briefly "
                    "failing consumer sends good messages to the dead-letter queue",
                )
            dead = context.queue_by_arn(redrive["dead_letter_target_arn"])
            if dead is None:
                context.add("queue-redrive", name, f"dead-letter queue {redrive['dead_letter_target_arn']} is not in the stack")
            else:
                if dead["fifo"] != queue["fifo"]:
                    context.add("queue-redrive", name, f"dead-letter queue {dead['logical_id']} must be FIFO exactly when the source is")
                if dead["retention"] < queue["retention"]:
                    context.add(
                        "queue-dlq-retention",
                        dead["logical_id"],
                        f"keeps messages {dead['retention']} s, less than its source {name} ({queue['retention']} s)",
                    )
        if not mapping["enabled"]:
            context.add("queue-mapping", name, f"the event source mapping to {function['logical_id']} is {mapping['state']}")
        if queue["fifo"] and (mapping["batch_size"] or 10) > FIFO_MAX_BATCH:
            context.add("queue-mapping", name, f"BatchSize {mapping['batch_size']} > {FIFO_MAX_BATCH}, the most a FIFO source allows")
        if "ReportBatchItemFailures" not in mapping["function_response_types"]:
            context.add(
                "queue-mapping",
                name,
                f"{function['logical_id']}'s mapping lacks FunctionResponseTypes ReportBatchItemFailures: the consumer's "
                "failure list would be ignored and failed messages deleted",
            )
    consumers = context.functions_by_binary(context.facts["bins"]["queue_consumer"])
    mapped = {m["function_arn"] for m in context.state["event_source_mappings"]}
    for function in consumers:
        if function["arn"] not in mapped:
            context.add("queue-mapping", function["logical_id"], "the queue consumer has no event source mapping")


# ================================================================= bucket


def _matches(key: str, prefix: str, suffix: str) -> bool:
    return key.startswith(prefix) and key.endswith(suffix)


def rule_bucket_notification(context: Context) -> None:
    """The media bucket (the one the functions read from DOUYIN_MEDIA_BUCKET) notifies the ingest of
    exactly the uploads: one rule, on ObjectCreated, prefix exactly the code's upload prefix, to the
    function whose binary is the ingest, which S3 may invoke (a permission for s3.amazonaws.com).
    And no key the functions write themselves (covers, inline videos, default images) falls under
    any notification filter: the ingest would be triggered by its own covers."""
    media = context.facts["media"]
    bucket = context.media_bucket()
    if bucket is None:
        return  # rule_environment reports the bucket name
    name = bucket["logical_id"]
    rules = bucket["notifications"]
    ingest = context.functions_by_binary(context.facts["bins"]["bucket_events"])
    lambda_rules = rules["lambda"]
    if len(lambda_rules) != 1:
        context.add("bucket-notification", name, f"{len(lambda_rules)} Lambda notification rules; the ingest needs exactly one")
    for rule in lambda_rules:
        target = context.function_by_arn(rule["function_arn"])
        if target is None or not ingest or target["arn"] != ingest[0]["arn"]:
            context.add(
                "bucket-notification",
                name,
                f"a notification goes to {target['logical_id'] if target else rule['function_arn']}, not the ingest "
                f"({context.facts['bins']['bucket_events']})",
            )
        if not any(event in ("s3:ObjectCreated:*", "s3:ObjectCreated:Put") for event in rule["events"]):
            context.add("bucket-notification", name, f"events {rule['events']} do not include the presigned PUT's ObjectCreated:Put")
        if rule["prefix"] != media["upload_prefix"]:
            context.add(
                "bucket-notification-prefix",
                name,
                f"the ingest is notified under prefix {rule['prefix']!r}; the code uploads to {media['upload_prefix']!r}",
            )
        if not _matches(media["upload_key"], rule["prefix"], rule["suffix"]):
            context.add("bucket-notification-prefix", name, f"an upload ({media['upload_key']}) does not match the filter")
    for kind, entries in rules.items():
        for rule in entries:
            for writer, key in sorted(media["written_keys"].items()):
                if _matches(key, rule["prefix"], rule["suffix"]):
                    context.add(
                        "bucket-notification-retrigger",
                        name,
                        f"the {writer} key {key} falls under the {kind} notification (prefix {rule['prefix']!r}, "
                        f"suffix {rule['suffix']!r}): writing it triggers the ingest again",
                    )
    for function in ingest:
        if not any(p["principal"] == "s3.amazonaws.com" for p in function["permissions"]):
            context.add("bucket-permission", function["logical_id"], "no permission lets S3 invoke the ingest")


def _lifecycle_matches(rule: dict[str, Any], key: str, tags: dict[str, str]) -> bool:
    """Whether an S3 lifecycle rule (API shape, as read back) applies to an object `key` with `tags`."""
    found = rule.get("Filter") or {}
    if "And" in found:
        found = {"Prefix": found["And"].get("Prefix", ""), "Tags": found["And"].get("Tags") or []}
    elif "Tag" in found:
        found = {"Prefix": "", "Tags": [found["Tag"]]}
    prefix = found.get("Prefix", rule.get("Prefix", "")) or ""
    wanted = found.get("Tags") or []
    return key.startswith(prefix) and all(tags.get(tag["Key"]) == tag["Value"] for tag in wanted)


def rule_bucket_lifecycle(context: Context) -> None:
    """Uploads that never complete are cleaned up, and nothing else is: an enabled lifecycle rule expires
    an upload as the code writes it (its key and the tag the presigned PUT signs in), and no rule that
    expires objects applies to a key the functions publish (a published video would vanish)."""
    media = context.facts["media"]
    bucket = context.media_bucket()
    if bucket is None:
        return  # rule_environment reports the bucket name
    rules = [r for r in bucket["lifecycle"] or [] if r.get("Status") == "Enabled"]
    expiring = [r for r in rules if r.get("Expiration")]
    tag = media["upload_tag"]
    if not any(_lifecycle_matches(r, media["upload_key"], {tag["key"]: tag["value"]}) for r in expiring):
        context.add(
            "bucket-lifecycle",
            bucket["logical_id"],
            f"no enabled lifecycle rule expires an unclaimed upload ({media['upload_key']}, tagged "
            f"{tag['key']}={tag['value']}): uploads that never complete stay forever",
        )
    for writer, key in sorted(media["written_keys"].items()):
        for rule in expiring:
            # Published objects carry no tag the code sets; a rule applies if its prefix and tags can match.
            if _lifecycle_matches(rule, key, {}) or _lifecycle_matches(rule, key, {tag["key"]: tag["value"]}):
                context.add(
                    "bucket-lifecycle",
                    bucket["logical_id"],
                    f"lifecycle rule {rule.get('ID')!r} expires the {writer} key {key}: published media would vanish",
                )


# ============================================================ environment


def rule_environment(context: Context) -> None:
    """Every application function's environment, as deployed, through the real configuration parser
    (`Config::from_lookup`, via the config-check bin): a value it refuses fails every cold start. Then
    the names it carries against what the stack deployed: DOUYIN_MEDIA_BUCKET is the bucket,
    DOUYIN_TABLE the table, DOUYIN_CHAT_QUEUE_URL the queue the consumer reads, DOUYIN_JWT_SECRET_ARN
    the secret (which holds a value); and the whole environment within Lambda's 4 KB."""
    functions = context.app_functions()
    environments = {f["logical_id"]: f["environment"] for f in functions}
    verdicts = _config_check(context.config_check, environments)
    for logical_id, verdict in sorted(verdicts.items()):
        if not verdict["ok"]:
            value = environments[logical_id].get(verdict["variable"])
            context.add(
                "environment-config",
                logical_id,
                f"{verdict['variable']}={value!r} is refused at cold start: {verdict['problem']}",
            )
    state = context.state
    buckets = {b["name"] for b in state["buckets"].values()}
    tables = {t["name"] for t in state["tables"].values()}
    secrets = {s["arn"]: s for s in state["secrets"].values()}
    consumed = {m["source_arn"] for m in state["event_source_mappings"]}
    queue_urls = {q["url"] for q in state["queues"].values() if q["arn"] in consumed}
    for function in functions:
        env, logical_id = function["environment"], function["logical_id"]
        bucket = env.get("DOUYIN_MEDIA_BUCKET")
        if bucket not in buckets:
            context.add("environment-bucket", logical_id, f"DOUYIN_MEDIA_BUCKET={bucket!r}, but the stack's bucket is {sorted(buckets)}")
        if env.get("DOUYIN_TABLE") not in tables:
            context.add("environment-table", logical_id, f"DOUYIN_TABLE={env.get('DOUYIN_TABLE')!r}, but the stack's table is {sorted(tables)}")
        url = env.get("DOUYIN_CHAT_QUEUE_URL")
        if url is not None and url not in queue_urls:
            context.add("environment-queue", logical_id, f"DOUYIN_CHAT_QUEUE_URL={url!r} is not the queue the consumer reads {sorted(queue_urls)}")
        arn = env.get("DOUYIN_JWT_SECRET_ARN")
        if arn is not None:
            secret = secrets.get(arn)
            if secret is None:
                context.add("environment-secret", logical_id, f"DOUYIN_JWT_SECRET_ARN={arn!r} is not the stack's secret")
            elif not secret["has_value"]:
                context.add("environment-secret", logical_id, "the signing secret holds no value")
        size = sum(len(key.encode()) + len(value.encode()) for key, value in env.items())
        if size > LAMBDA_ENVIRONMENT_LIMIT_BYTES:
            context.add("environment-size", logical_id, f"environment is {size} bytes; Lambda allows {LAMBDA_ENVIRONMENT_LIMIT_BYTES}")


def rule_fallback(context: Context) -> None:
    """The default route's function (route-fallback) passes a contract request that reaches `$default`
    on to its endpoint's function (API Gateway may send `/x/` there): its environment through the real
    parser (`FallbackConfig` and the map's completeness, via `config-check --fallback`), each endpoint
    mapped to the deployed function that builds it, and a timeout no shorter than any of theirs (it
    waits for them)."""
    fallback_binary = context.facts["bins"]["default_route"]
    for function in context.functions_by_binary(fallback_binary):
        logical_id = function["logical_id"]
        verdict = _config_check(context.config_check, {logical_id: function["environment"]}, "--fallback")[logical_id]
        if not verdict["ok"]:
            context.add("fallback-config", logical_id, f"{verdict['variable']}: {verdict['problem']} (refused at cold start)")
            continue
        targets = verdict.get("targets") or {}
        if not targets:
            context.add("fallback-targets", logical_id, "DOUYIN_ROUTE_FUNCTIONS is empty: a `/x/` that reaches $default gets 404")
            continue
        waits_for = []
        for word, named in sorted(targets.items()):
            builders = context.functions_by_binary(word)
            target = next((f for f in builders if named in (f["name"], f["arn"])), None)
            if target is None:
                deployed = ", ".join(f["name"] for f in builders) or "none"
                context.add("fallback-targets", logical_id, f"{word} is passed on to {named!r}, which is not the function that builds it ({deployed})")
                continue
            waits_for.append(target)
        longest = max(waits_for, key=lambda f: f["timeout"] or 0, default=None)
        if longest is not None and (function["timeout"] or 0) < (longest["timeout"] or 0):
            context.add("fallback-timeout", logical_id, f"Timeout {function['timeout']} s is shorter than {longest['logical_id']}'s {longest['timeout']} s, which it waits for")


def _config_check(binary: Path, environments: dict[str, dict[str, str]], *flags: str) -> dict[str, Any]:
    completed = subprocess.run(
        [str(binary), *flags], input=json.dumps(environments), capture_output=True, text=True, timeout=60, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{binary} failed ({completed.returncode}): {completed.stderr.strip()}")
    return json.loads(completed.stdout)


# ================================================================= routes


def _route_path_matches(route_path: str, path: str) -> bool:
    """API Gateway's path matching of one route: exact, or a greedy {name+} last segment."""
    if route_path == path:
        return True
    if route_path.endswith("+}"):
        base = route_path[: route_path.rindex("/{") + 1]
        return path.startswith(base) and len(path) > len(base)
    return False


def route_for(routes: dict[str, Any], method: str, path: str) -> tuple[str, dict[str, Any]] | None:
    """The route API Gateway picks for (method, path), `$default` excluded: a method's route before ANY."""
    candidates = []
    for key, route in routes.items():
        if key == "$default" or " " not in key:
            continue
        route_method, route_path = key.split(" ", 1)
        if route_method in (method, "ANY") and _route_path_matches(route_path, path):
            greedy = route_path.endswith("+}")
            candidates.append(((greedy, route_method == "ANY", -len(route_path)), key, route))
    if not candidates:
        return None
    _, key, route = min(candidates, key=lambda item: item[0])
    return key, route


def _dropped_at_import(key: str) -> bool:
    """A route key API Gateway drops at import: its path ends in `/` (the root `/` aside)."""
    path = key.split(" ", 1)[-1]
    return key != "$default" and path != "/" and path.endswith("/")


def rule_routes(context: Context) -> None:
    """The HTTP API's routes against the code's route table (ROUTE_KEYS). AWS rule moto lacks: a route
    key may not end in `/` — SAM accepts it, API Gateway drops the route at import without an error
    (aws/serverless-application-model#1949), so such a route is a finding, and it serves nothing in
    the checks below. Every endpoint (method, path without its trailing slash) must reach the
    function whose binary serves it through an AWS_PROXY integration of payload format 2.0; `$default`
    must go to the route-fallback binary; a route the code does not know is a finding. What API
    Gateway does with a request to `/x/` (the spelling the stock client uses) when only `/x` is
    routed cannot be known offline: the front door (stage 4) models it, a real deploy shows it."""
    for api in context.state["http_apis"].values():
        name = api["logical_id"]
        dropped = sorted(key for key in api["routes"] if _dropped_at_import(key))
        for key in dropped:
            context.add(
                "route-trailing-slash",
                name,
                f"route key {key!r} ends in '/': API Gateway drops it at import without an error (a real deploy "
                "would not have it); route the path without the slash",
            )
        routes = {key: route for key, route in api["routes"].items() if key not in dropped}
        known = set()
        for endpoint in context.facts["routes"]:
            path = endpoint["path"].rstrip("/") or "/"
            found = route_for(routes, endpoint["method"], path)
            if found is None:
                context.add(
                    "route-missing",
                    name,
                    f"{endpoint['method']} {path} ({endpoint['name']}) has no route that survives import: "
                    "it would reach $default (404 from route-fallback)",
                )
                continue
            key, route = found
            known.add(key)
            function = context.function_by_arn(route["function_arn"])
            if function is None or function["binary"] != endpoint["name"]:
                context.add(
                    "route-target",
                    name,
                    f"{key} goes to {function['logical_id'] + ' (' + str(function['binary']) + ')' if function else route['integration_uri']}, "
                    f"not the {endpoint['name']} binary",
                )
            _check_integration(context, name, key, route)
        default = routes.get("$default")
        fallback = context.facts["bins"]["default_route"]
        if default is None:
            context.add("route-default", name, f"no $default route: unknown paths get API Gateway's non-JSON 404, not {fallback}'s envelope")
        else:
            function = context.function_by_arn(default["function_arn"])
            if function is None or function["binary"] != fallback:
                context.add("route-default", name, f"$default goes to {function['logical_id'] if function else default['integration_uri']}, not {fallback}")
            _check_integration(context, name, "$default", default)
            known.add("$default")
        for key in sorted(set(routes) - known):
            context.add("route-unknown", name, f"route {key!r} is not in the code's route table")


def _check_integration(context: Context, api: str, key: str, route: dict[str, Any]) -> None:
    if route["integration_type"] != "AWS_PROXY" or route["payload_format_version"] != "2.0":
        context.add(
            "route-integration",
            api,
            f"{key}: integration {route['integration_type']} {route['payload_format_version']}; the functions read "
            "API Gateway's v2 events (AWS_PROXY, payload format 2.0)",
        )


def rule_route_permissions(context: Context) -> None:
    """API Gateway may invoke every routed function for its routes: a permission for
    apigateway.amazonaws.com whose SourceArn covers `arn:aws:execute-api:<region>:<account>:<api>/<stage>/<METHOD>/<path>`
    (`$default` as the route). Without it the route answers 500 on AWS; moto never checks."""
    state = context.state
    for api in state["http_apis"].values():
        for key, route in api["routes"].items():
            function = context.function_by_arn(route["function_arn"])
            if function is None or _dropped_at_import(key):
                continue
            if key == "$default":
                resource = "$default"
            else:
                method, path = key.split(" ", 1)
                resource = f"{method}{path}"
            arn = f"arn:aws:execute-api:{state['region']}:{state['account']}:{api['id']}/$default/{resource}"
            allowed = [
                p
                for p in function["permissions"]
                if p["principal"] == "apigateway.amazonaws.com"
                and p["action"] in ("lambda:InvokeFunction", "lambda:*")
                and (p["source_arn"] is None or fnmatch.fnmatchcase(arn, p["source_arn"]))
            ]
            if not allowed:
                context.add("route-permission", function["logical_id"], f"API Gateway may not invoke it for {key} ({arn})")


# =============================================================== timeouts


def worst_call_seconds(sdk: dict[str, Any]) -> tuple[float, str]:
    """The longest one SDK call can take under `App::build`'s policies: per retry policy,
    min(operation timeout, attempts × attempt timeout + the largest backoff before each retry)."""
    worst, why = 0.0, ""
    for label in ("retry", "dynamodb_retry"):
        policy = sdk[label]
        attempts = int(policy["max_attempts"])
        backoffs = sum(
            min(policy["max_backoff_s"], policy["initial_backoff_s"] * 2**retry) for retry in range(attempts - 1)
        )
        attempt_bound = attempts * sdk["attempt_timeout_s"] + backoffs
        bound = min(sdk["operation_timeout_s"], attempt_bound)
        if bound > worst:
            worst = bound
            why = (
                f"{label}: min(operation {sdk['operation_timeout_s']:g} s, {attempts} attempts × "
                f"{sdk['attempt_timeout_s']:g} s + backoffs {backoffs:g} s)"
            )
    return worst, why


def rule_timeouts(context: Context) -> None:
    """A function's Timeout must exceed the worst case of one SDK call (shared/src/app.rs:
    call_timeouts, retry_policy, dynamodb_retry_policy), or a slow call ends in Lambda's kill:
    API Gateway's non-JSON 5xx instead of our envelope, a chat message reported failed after it
    was accepted. An API function's Timeout must also stay below API Gateway's integration timeout
    (30 s, or the route's own), else API Gateway answers 503 while the function still works."""
    worst, why = worst_call_seconds(context.facts["sdk"])
    routed = {f["arn"] for f in context.routed_functions()}
    integration_timeouts: dict[str, float] = {}
    for api in context.state["http_apis"].values():
        for route in api["routes"].values():
            seconds = (route["timeout_ms"] or API_GATEWAY_INTEGRATION_TIMEOUT_S * 1000) / 1000
            arn = route["function_arn"]
            integration_timeouts[arn] = min(integration_timeouts.get(arn, seconds), seconds)
    for function in context.app_functions():
        if function["timeout"] <= worst:
            context.add(
                "timeout-sdk",
                function["logical_id"],
                f"Timeout {function['timeout']} s does not exceed one SDK call's worst case, {worst:g} s ({why})",
            )
    for function in context.state["functions"].values():
        if function["arn"] in routed:
            limit = integration_timeouts.get(function["arn"], API_GATEWAY_INTEGRATION_TIMEOUT_S)
            if function["timeout"] >= limit:
                context.add(
                    "timeout-api",
                    function["logical_id"],
                    f"Timeout {function['timeout']} s is not below API Gateway's integration timeout {limit:g} s",
                )


# ================================================================ payload


def rule_payload(context: Context) -> None:
    """A synchronous Lambda event is at most 6 MB (6,291,456 bytes) including the base64 body. The
    one-request publish must fit a body just over its limit (file + multipart overhead, base64 ×4/3,
    plus the v2 event around it), so that such a request still reaches the handler and gets 10007
    rather than API Gateway's error (shared/src/videos.rs, INLINE_MAX_BYTES and its allowances)."""
    payload = context.facts["payload"]
    body = payload["inline_max_bytes"] + 1 + payload["multipart_allowance_bytes"]
    event = (body + 2) // 3 * 4 + payload["event_allowance_bytes"]
    if event > payload["lambda_payload_bytes"]:
        publish = context.functions_by_binary("publish-action")
        context.add(
            "payload",
            publish[0]["logical_id"] if publish else "publish-action",
            f"a body just over the inline limit ({payload['inline_max_bytes']} + 1 bytes of file) makes a "
            f"{event}-byte event, over Lambda's {payload['lambda_payload_bytes']}: its sender gets API Gateway's "
            "error, never 10007; lower INLINE_MAX_BYTES",
        )


# =================================================================== logs


def rule_logs(context: Context) -> None:
    """Every function's log group (/aws/lambda/<name>, where Lambda writes) exists with a retention:
    Lambda creates a missing one on first write with none, and keeps logs forever (and bills them).
    The HTTP API's stage writes access logs to a log group with a retention."""
    groups = context.state["log_groups"]
    for function in context.state["functions"].values():
        group = groups.get(function["log_group"])
        if group is None:
            context.add("log-group", function["logical_id"], f"no log group {function['log_group']} in the stack: Lambda makes one without retention")
        elif not group["retention_in_days"]:
            context.add("log-retention", function["logical_id"], f"log group {function['log_group']} keeps logs forever (no RetentionInDays)")
    for api in context.state["http_apis"].values():
        stage = api["stage"]
        if stage is None:
            context.add("api-stage", api["logical_id"], "the API has no stage")
            continue
        access = stage["access_log"]
        if access is None or not access["format"]:
            context.add("api-access-log", api["logical_id"], f"stage {stage['name']} writes no access logs")
            continue
        group = next((g for g in groups.values() if g["arn"] and access["destination_arn"].rstrip(":*") == g["arn"].rstrip(":*")), None)
        if group is None:
            context.add("api-access-log", api["logical_id"], f"access logs go to {access['destination_arn']}, not a log group of the stack")
        elif not group["retention_in_days"]:
            context.add("log-retention", api["logical_id"], f"access log group {group['name']} keeps logs forever")



# ============================================================== media CDN


def rule_media_cdn(context: Context) -> None:
    """With the CDN on (MediaCdn=true): the distribution reads the very bucket the functions write
    (its origin is that bucket's regional domain) through a SigV4 origin access control; the bucket
    policy lets that distribution, and only it, read every key the code publishes and never an
    upload (`uploads/` waits there unchecked); the cache key is the path alone and the behaviour
    read-only (keys name their content); and every function hands out links on that distribution
    (DOUYIN_MEDIA_BASE_URL), since a function without it would presign S3 links instead."""
    state = context.state
    distributions = state.get("distributions") or {}
    media = context.facts["media"]
    functions = context.app_functions()
    bucket = context.media_bucket()
    if not distributions:
        for function in functions:
            if function["environment"].get("DOUYIN_MEDIA_BASE_URL"):
                context.add("cdn-base-url", function["logical_id"], "DOUYIN_MEDIA_BASE_URL is set, but the stack has no distribution")
        return
    for logical_id, distribution in sorted(distributions.items()):
        config = distribution["config"]
        origins = (config.get("Origins") or {}).get("Items") or []
        controls = {c["id"]: c["config"] for c in (state.get("origin_access_controls") or {}).values()}
        if bucket is not None:
            regional = f"{bucket['name']}.s3.{state['region']}.amazonaws.com"
            if not any(o.get("DomainName") == regional for o in origins):
                context.add(
                    "cdn-origin",
                    logical_id,
                    f"no origin is the media bucket's regional domain {regional} "
                    f"(origins: {[o.get('DomainName') for o in origins]}): the CDN would serve another bucket",
                )
        for origin in origins:
            control = controls.get(origin.get("OriginAccessControlId") or "")
            if control is None:
                context.add("cdn-origin-access", logical_id, f"origin {origin.get('Id')} has no origin access control of the stack: S3 refuses its reads")
            elif (control.get("SigningBehavior"), control.get("SigningProtocol"), control.get("OriginAccessControlOriginType")) != ("always", "sigv4", "s3"):
                context.add("cdn-origin-access", logical_id, f"origin access control {control.get('Name')} does not always sign with SigV4 for S3")
        behavior = config.get("DefaultCacheBehavior") or {}
        methods = sorted((behavior.get("AllowedMethods") or {}).get("Items") or [])
        if methods != ["GET", "HEAD"]:
            context.add("cdn-methods", logical_id, f"allowed methods {methods}: media is read-only (GET, HEAD)")
        policy = next((p for p in (state.get("cache_policies") or {}).values() if p["id"] == behavior.get("CachePolicyId")), None)
        if policy is None:
            context.add("cdn-cache-policy", logical_id, f"cache policy {behavior.get('CachePolicyId')!r} is not the stack's")
        else:
            key = (policy["config"] or {}).get("ParametersInCacheKeyAndForwardedToOrigin") or {}
            for part, field in (("QueryStringsConfig", "QueryStringBehavior"), ("HeadersConfig", "HeaderBehavior"), ("CookiesConfig", "CookieBehavior")):
                if (key.get(part) or {}).get(field) != "none":
                    context.add("cdn-cache-key", logical_id, f"{part}.{field} is {(key.get(part) or {}).get(field)!r}: keys name their content, nothing but the path belongs in the cache key")
        if bucket is not None:
            statements = iam.statements_of([bucket.get("policy") or {}])
            reader = [
                s
                for s in statements
                if isinstance(s.get("Principal"), dict) and "cloudfront.amazonaws.com" in iam._list(s["Principal"].get("Service"))
            ]
            request = {"aws:SecureTransport": "true", "aws:SourceArn": distribution["arn"], "aws:SourceAccount": state["account"]}
            arn = f"arn:aws:s3:::{bucket['name']}"
            for writer, key in sorted(media["written_keys"].items()):
                if iam.decide(reader, "s3:GetObject", f"{arn}/{key}", request)[0] != "Allow":
                    context.add("cdn-bucket-policy", logical_id, f"the bucket policy does not let the distribution read the {writer} key {key}")
            if iam.decide(reader, "s3:GetObject", f"{arn}/{media['upload_key']}", request)[0] == "Allow":
                context.add("cdn-bucket-policy", logical_id, f"the distribution may read uploads ({media['upload_key']}): unchecked bytes would be served")
            other = {**request, "aws:SourceArn": distribution["arn"] + "-other"}
            if any(iam.decide(reader, "s3:GetObject", f"{arn}/{key}", other)[0] == "Allow" for key in media["written_keys"].values()):
                context.add("cdn-bucket-policy", logical_id, "another distribution may read the bucket: the grant is not bound to this one (aws:SourceArn)")
        want = f"https://{distribution['domain_name']}"
        for function in functions:
            got = function["environment"].get("DOUYIN_MEDIA_BASE_URL")
            if (got or "").rstrip("/") != want:
                context.add("cdn-base-url", function["logical_id"], f"DOUYIN_MEDIA_BASE_URL={got!r}; the distribution serves {want}")


RULES: list[Callable[[Context], None]] = [
    rule_table,
    rule_queues,
    rule_bucket_notification,
    rule_bucket_lifecycle,
    rule_environment,
    rule_fallback,
    rule_routes,
    rule_route_permissions,
    rule_timeouts,
    rule_payload,
    rule_logs,
    rule_media_cdn,
]
