"""The AWS front: the one endpoint every function (and every client holding a
presigned URL) talks to during the rehearsal.

It forwards each request unchanged to the emulated service (moto; Lambda's
Invoke API to the lambda-host) and records it: which access key (so which
function's role), which service, action and resource (calls.py). The IAM stage
evaluates those records against the deployed policies.

It is also where S3 fires its events: after a successful object-creating
request it reads the bucket's notification configuration back from moto (as
deployed, not as the template said) and, for each Lambda configuration whose
events and key filter match, checks the function's resource policy lets S3
invoke it for this bucket and hands the event to Lambda's asynchronous
invoker. A function whose own write triggers itself is a finding (the loop
that bills forever).
"""

import http.client
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import calls as calls_module
from .lambdas import permission_allows

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "host", "content-length"}


class AwsFront:
    def __init__(self, state, moto_url, host_url, keys, notify, findings, log):
        """`keys`: access key → function logical id (its role's sessions).
        `notify(function, event)`: Lambda's asynchronous invoke."""
        self.state = state
        self.moto = urllib.parse.urlparse(moto_url)
        self.host = urllib.parse.urlparse(host_url)
        self.keys = keys
        self.notify = notify
        self.findings = findings
        self.log = log
        self.records = []  # (function logical id or None, Call)
        self.lock = threading.Lock()
        self.server = None
        self.sequence = 0
        self.s3_client = None  # boto3 client on moto, to read notifications back
        self.throttled = set()  # (function logical id, DynamoDB operation) answered as a throttled transaction

    def upstream(self, service):
        return self.host if service == "lambda" else self.moto

    def handle(self, handler):
        parsed = urllib.parse.urlsplit(handler.path)
        query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
        headers = {name.lower(): value for name, value in handler.headers.items()}
        length = int(headers.get("content-length") or 0)
        body = handler.rfile.read(length) if length else b""
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = _read_chunked(handler.rfile)
        call = calls_module.describe(handler.command, parsed.path, query, headers, body, self.state)
        function = self.keys.get(call.access_key)
        if call.service == "dynamodb" and (function, call.operation) in self.throttled:
            status, reply_headers, reply = _throttled_transaction(body)
            call.status = status
            with self.lock:
                self.records.append((function, call))
            return status, reply_headers, reply
        target = self.upstream(call.service)
        connection = http.client.HTTPConnection(target.hostname, target.port, timeout=300)
        forwarded = {name: value for name, value in handler.headers.items() if name.lower() not in HOP_BY_HOP}
        forwarded["Host"] = f"{target.hostname}:{target.port}"
        if body or handler.command in ("PUT", "POST"):
            forwarded["Content-Length"] = str(len(body))
        try:
            connection.request(handler.command, handler.path, body=body, headers=forwarded)
            response = connection.getresponse()
            status, reply_headers, reply = response.status, response.getheaders(), response.read()
        finally:
            connection.close()
        call.status = status
        with self.lock:
            self.records.append((function, call))
        if call.service == "s3" and 200 <= status < 300:
            self.after_s3_write(handler.command, parsed.path, query, headers, call, function, reply)
        return status, reply_headers, reply

    # -- S3 events ----------------------------------------------------------
    def after_s3_write(self, method, path, query, headers, call, writer, reply):
        if call.operation == "PutObject":
            event_name = "ObjectCreated:Put"
        elif call.operation == "CopyObject":
            event_name = "ObjectCreated:Copy"
        elif call.operation == "MultipartUpload" and method == "POST" and "uploadId" in query:
            event_name = "ObjectCreated:CompleteMultipartUpload"
        else:
            return
        bucket, _, key = urllib.parse.unquote(path).lstrip("/").partition("/")
        try:
            configuration = self.s3_client.get_bucket_notification_configuration(Bucket=bucket)
        except Exception as error:  # noqa: BLE001 - reported, never hidden
            self.findings.append(f"S3: cannot read the notification configuration of {bucket}: {error}")
            return
        for rule in configuration.get("LambdaFunctionConfigurations", []):
            if not any(_event_matches(pattern, event_name) for pattern in rule.get("Events", [])):
                continue
            if not _filter_matches(rule.get("Filter", {}), key):
                continue
            target = self.function_by_arn(rule["LambdaFunctionArn"])
            if target is None:
                self.findings.append(f"S3: {bucket} notifies {rule['LambdaFunctionArn']}, which is not deployed")
                continue
            if not permission_allows(target.get("permissions", []), "s3.amazonaws.com", f"arn:aws:s3:::{bucket}",
                                     self.state["account"]):
                self.findings.append(f"S3: no Lambda permission lets s3.amazonaws.com invoke "
                                     f"{target['logical_id']} for arn:aws:s3:::{bucket} ({key} was not ingested)")
                continue
            if writer == target["logical_id"]:
                self.findings.append(f"S3: {target['logical_id']} wrote {key}, which triggers "
                                     f"{target['logical_id']} again (an invocation loop)")
                continue
            self.notify(target, self.s3_event(bucket, key, event_name, headers, reply))

    def s3_event(self, bucket, key, event_name, headers, reply):
        with self.lock:
            self.sequence += 1
            sequencer = f"{self.sequence:016X}"
        size = int(headers.get("x-amz-decoded-content-length") or headers.get("content-length") or 0)
        return {
            "Records": [
                {
                    "eventVersion": "2.1",
                    "eventSource": "aws:s3",
                    "awsRegion": self.state["region"],
                    "eventTime": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
                    "eventName": event_name,
                    "userIdentity": {"principalId": "AWS:REHEARSAL"},
                    "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                    "responseElements": {"x-amz-request-id": sequencer, "x-amz-id-2": sequencer},
                    "s3": {
                        "s3SchemaVersion": "1.0",
                        "configurationId": "rehearsal",
                        "bucket": {
                            "name": bucket,
                            "ownerIdentity": {"principalId": "REHEARSAL"},
                            "arn": f"arn:aws:s3:::{bucket}",
                        },
                        # S3 URL-encodes keys in events (spaces as '+').
                        "object": {"key": urllib.parse.quote_plus(key, safe="/"), "size": size,
                                   "sequencer": sequencer},
                    },
                }
            ]
        }

    def function_by_arn(self, arn):
        for function in self.state["functions"].values():
            if arn in (function["arn"], function["arn"] + ":$LATEST"):
                return function
        return None

    # -- serving ------------------------------------------------------------
    def serve(self):
        front = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one(self):
                try:
                    status, headers, body = front.handle(self)
                except Exception as error:  # the rehearsal's own fault: say so loudly
                    front.findings.append(f"AWS front crashed on {self.command} {self.path}: {error!r}")
                    status, headers, body = 500, [], b""
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in ("transfer-encoding", "content-length", "connection"):
                        self.send_header(name, value)
                # A HEAD answer has no body but says how long the object is.
                length = next((v for n, v in headers if n.lower() == "content-length"), None)
                self.send_header("Content-Length", length if self.command == "HEAD" and length else str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = handle_one

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()


def _throttled_transaction(body):
    """DynamoDB's answer to a transaction it cancelled because its items' partitions
    were throttled: HTTP 400 TransactionCanceledException, a ThrottlingError reason per
    item. The SDK does not retry it (the caller decides), and nothing was written."""
    try:
        items = len(json.loads(body or b"{}").get("TransactItems") or [])
    except ValueError:
        items = 0
    reasons = [{"Code": "ThrottlingError", "Message": "Throughput exceeds the current capacity of your table or index."}] * items
    reply = json.dumps({
        "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
        "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons "
                   f"[{', '.join(r['Code'] for r in reasons)}]",
        "CancellationReasons": reasons,
    }).encode()
    headers = [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", "rehearsal-throttled")]
    return 400, headers, reply


def _read_chunked(stream):
    out = b""
    while True:
        size = int(stream.readline().split(b";")[0].strip() or b"0", 16)
        if size == 0:
            stream.readline()
            return out
        out += stream.read(size)
        stream.readline()


def _event_matches(pattern, event_name):
    pattern = pattern.removeprefix("s3:")
    if pattern.endswith("*"):
        return event_name.startswith(pattern[:-1])
    return pattern == event_name


def _filter_matches(filter_config, key):
    rules = filter_config.get("Key", filter_config.get("S3Key", {})).get("FilterRules", [])
    for rule in rules:
        name = rule["Name"].lower()
        if name == "prefix" and not key.startswith(rule["Value"]):
            return False
        if name == "suffix" and not key.endswith(rule["Value"]):
            return False
    return True
