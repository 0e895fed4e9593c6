"""What an AWS request asks for, in IAM's terms.

`describe(request)` takes one HTTP request as a function (or a client holding a
presigned URL) sent it to AWS and answers who sent it (the access key), which
service, and the IAM authorisations it needs: (action, resource ARN, condition
keys). A request may need several (a DynamoDB transaction is authorised per
item action; a copy needs the source's read and the target's write).

Only what our functions and their clients send is understood; anything else is
an `Unknown` call, which the IAM stage reports as a failure rather than letting
it pass unchecked.
"""

import json
import re
import urllib.parse
from dataclasses import dataclass, field

CREDENTIAL = re.compile(r"Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request")


@dataclass
class Need:
    """One authorisation a request needs."""

    action: str
    resource: str
    context: dict = field(default_factory=dict)  # condition keys, e.g. dynamodb:LeadingKeys


@dataclass
class Call:
    """One request, as IAM sees it."""

    access_key: str
    service: str
    operation: str
    needs: list
    detail: str = ""  # a short human description (table, key, queue)
    status: int = 0  # the upstream's HTTP status, filled in after forwarding


def credential(headers, query):
    """(access key, region, service) of a SigV4 request: header or presigned query."""
    auth = headers.get("authorization", "")
    match = CREDENTIAL.search(auth)
    if match:
        return match.group(1), match.group(3), match.group(4)
    raw = query.get("X-Amz-Credential", [""])[0]
    parts = raw.split("/")
    if len(parts) == 5:
        return parts[0], parts[2], parts[3]
    return "", "", ""


def describe(method, path, query, headers, body, state):
    """The Call of one request. `state` (rehearse.deployed's dict) gives the
    account, region, table key schemas and queue ARNs."""
    access_key, region, service = credential(headers, query)
    region = region or state["region"]
    account = state["account"]
    if service == "dynamodb":
        return _dynamodb(access_key, headers, body, state, region, account)
    if service == "s3":
        return _s3(access_key, method, path, query, headers)
    if service == "sqs":
        return _sqs(access_key, headers, body, state)
    if service == "secretsmanager":
        return _secrets(access_key, headers, body, state, region, account)
    if service == "lambda":
        return _lambda(access_key, method, path, state, region, account)
    operation = headers.get("x-amz-target", "") or f"{method} {path}"
    return Call(access_key, service or "unsigned", operation, [Need(f"{service or 'unsigned'}:Unknown", "*")])


def _json(body):
    try:
        return json.loads(body or b"{}")
    except ValueError:
        return {}


def _table_arn(region, account, table, index=None):
    arn = f"arn:aws:dynamodb:{region}:{account}:table/{table}"
    return f"{arn}/index/{index}" if index else arn


def _hash_key(state, table):
    for candidate in (state.get("tables") or {}).values():
        if candidate.get("name") == table:
            return candidate.get("hash_key")
    return None


def _leading(item, hash_key):
    if not hash_key or not isinstance(item, dict):
        return []
    value = item.get(hash_key) or {}
    text = value.get("S") or value.get("N") or value.get("B")
    return [text] if text is not None else []


def _query_leading(payload, hash_key):
    """The partition key value of a Query's key condition (`pk = :v`)."""
    expression = payload.get("KeyConditionExpression", "")
    names = payload.get("ExpressionAttributeNames", {})
    values = payload.get("ExpressionAttributeValues", {})
    for left, right in re.findall(r"([#:\w]+)\s*=\s*([#:\w]+)", expression):
        name = names.get(left, left)
        if name == hash_key and right in values:
            return _leading({hash_key: values[right]}, hash_key)
    return []


def _dynamodb(access_key, headers, body, state, region, account):
    operation = headers.get("x-amz-target", "").split(".")[-1]
    payload = _json(body)
    needs = []
    if operation in ("GetItem", "PutItem", "UpdateItem", "DeleteItem"):
        table = payload.get("TableName", "")
        key = payload.get("Key") or payload.get("Item") or {}
        context = {"dynamodb:LeadingKeys": _leading(key, _hash_key(state, table))}
        needs.append(Need(f"dynamodb:{operation}", _table_arn(region, account, table), context))
        detail = f"{table} {context['dynamodb:LeadingKeys']}"
    elif operation in ("Query", "Scan"):
        table = payload.get("TableName", "")
        index = payload.get("IndexName")
        context = {"dynamodb:LeadingKeys": _query_leading(payload, _hash_key(state, table))} if not index else {}
        needs.append(Need(f"dynamodb:{operation}", _table_arn(region, account, table, index), context))
        detail = f"{table}{'/' + index if index else ''}"
    elif operation == "TransactWriteItems":
        actions = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}
        for item in payload.get("TransactItems", []):
            for kind, action in actions.items():
                if kind in item:
                    part = item[kind]
                    table = part.get("TableName", "")
                    key = part.get("Key") or part.get("Item") or {}
                    context = {"dynamodb:LeadingKeys": _leading(key, _hash_key(state, table))}
                    needs.append(Need(f"dynamodb:{action}", _table_arn(region, account, table), context))
        detail = f"{len(needs)} items"
    elif operation == "TransactGetItems":
        for item in payload.get("TransactItems", []):
            part = item.get("Get", {})
            table = part.get("TableName", "")
            context = {"dynamodb:LeadingKeys": _leading(part.get("Key", {}), _hash_key(state, table))}
            needs.append(Need("dynamodb:GetItem", _table_arn(region, account, table), context))
        detail = f"{len(needs)} items"
    elif operation in ("BatchGetItem", "BatchWriteItem"):
        for table, request in payload.get("RequestItems", {}).items():
            keys = request.get("Keys", []) if isinstance(request, dict) else []
            leading = sorted({v for key in keys for v in _leading(key, _hash_key(state, table))})
            needs.append(Need(f"dynamodb:{operation}", _table_arn(region, account, table), {"dynamodb:LeadingKeys": leading}))
        detail = ",".join(payload.get("RequestItems", {}))
    elif operation in ("DescribeTable", "CreateTable", "ListTables", "DescribeTimeToLive", "UpdateTimeToLive"):
        table = payload.get("TableName", "*")
        needs.append(Need(f"dynamodb:{operation}", _table_arn(region, account, table) if table != "*" else "*"))
        detail = table
    else:
        needs.append(Need(f"dynamodb:{operation or 'Unknown'}", "*"))
        detail = "not understood"
    return Call(access_key, "dynamodb", operation, needs, detail)


def _s3(access_key, method, path, query, headers):
    parts = urllib.parse.unquote(path).lstrip("/").split("/", 1)
    bucket = parts[0]
    key = parts[1] if len(parts) > 1 else ""
    bucket_arn = f"arn:aws:s3:::{bucket}"
    object_arn = f"{bucket_arn}/{key}"
    if method == "OPTIONS":
        # A browser's CORS preflight (to a presigned URL, its query and all): S3 answers it
        # from the bucket's CORS configuration; IAM is not asked.
        return Call(access_key, "s3", "Preflight", [], key or bucket)
    if not key:
        if method == "GET" and ("list-type" in query or not query):
            prefix = query.get("prefix", [""])[0]
            return Call(access_key, "s3", "ListObjects", [Need("s3:ListBucket", bucket_arn, {"s3:prefix": [prefix]})], bucket)
        if method == "HEAD":
            return Call(access_key, "s3", "HeadBucket", [Need("s3:ListBucket", bucket_arn)], bucket)
        if method == "PUT" and not query:
            return Call(access_key, "s3", "CreateBucket", [Need("s3:CreateBucket", bucket_arn)], bucket)
        if method == "POST" and "delete" in query:
            return Call(access_key, "s3", "DeleteObjects", [Need("s3:DeleteObject", f"{bucket_arn}/*")], bucket)
        return Call(access_key, "s3", f"{method} bucket", [Need("s3:Unknown", bucket_arn)], bucket)
    if method in ("GET", "HEAD"):
        operation = "GetObject" if method == "GET" else "HeadObject"
        return Call(access_key, "s3", operation, [Need("s3:GetObject", object_arn)], key)
    if method == "PUT" and "partNumber" in query:
        return Call(access_key, "s3", "UploadPart", [Need("s3:PutObject", object_arn)], key)
    if method == "PUT":
        source = headers.get("x-amz-copy-source")
        if source:
            source = urllib.parse.unquote(source.split("?")[0]).lstrip("/")
            return Call(access_key, "s3", "CopyObject",
                        [Need("s3:GetObject", f"arn:aws:s3:::{source}"), Need("s3:PutObject", object_arn)], key)
        return Call(access_key, "s3", "PutObject", [Need("s3:PutObject", object_arn)], key)
    if method == "DELETE" and "uploadId" in query:
        return Call(access_key, "s3", "AbortMultipartUpload", [Need("s3:AbortMultipartUpload", object_arn)], key)
    if method == "DELETE":
        return Call(access_key, "s3", "DeleteObject", [Need("s3:DeleteObject", object_arn)], key)
    if method == "POST" and ("uploads" in query or "uploadId" in query):
        return Call(access_key, "s3", "MultipartUpload", [Need("s3:PutObject", object_arn)], key)
    return Call(access_key, "s3", f"{method} object", [Need("s3:Unknown", object_arn)], key)


def _queue_arn(state, url):
    for queue in state.get("queues", {}).values():
        if queue.get("url") == url or url.endswith("/" + queue.get("name", "\0")):
            return queue["arn"]
    return f"unknown-queue:{url}"


def _sqs(access_key, headers, body, state):
    target = headers.get("x-amz-target", "")
    if target:
        operation = target.split(".")[-1]
        payload = _json(body)
    else:  # the query protocol: Action=SendMessage&QueueUrl=...
        form = urllib.parse.parse_qs((body or b"").decode("utf-8", "replace"))
        operation = form.get("Action", [""])[0]
        payload = {key: values[0] for key, values in form.items()}
    url = payload.get("QueueUrl", "")
    action = {"SendMessageBatch": "SendMessage", "DeleteMessageBatch": "DeleteMessage",
              "ChangeMessageVisibilityBatch": "ChangeMessageVisibility"}.get(operation, operation)
    return Call(access_key, "sqs", operation, [Need(f"sqs:{action}", _queue_arn(state, url))], url.rsplit("/", 1)[-1])


def _secrets(access_key, headers, body, state, region, account):
    operation = headers.get("x-amz-target", "").split(".")[-1]
    secret_id = _json(body).get("SecretId", "")
    arn = secret_id
    if not secret_id.startswith("arn:"):
        for secret in (state.get("secrets") or {}).values():
            if secret.get("name") == secret_id:
                arn = secret.get("arn", secret_id)
    return Call(access_key, "secretsmanager", operation, [Need(f"secretsmanager:{operation}", arn)], secret_id)


def _lambda(access_key, method, path, state, region, account):
    match = re.match(r"^/2015-03-31/functions/([^/]+)/invocations$", path)
    if method == "POST" and match:
        name = urllib.parse.unquote(match.group(1))
        arn = name if name.startswith("arn:") else f"arn:aws:lambda:{region}:{account}:function:{name}"
        return Call(access_key, "lambda", "Invoke", [Need("lambda:InvokeFunction", arn)], name)
    return Call(access_key, "lambda", f"{method} {path}", [Need("lambda:Unknown", "*")], path)
