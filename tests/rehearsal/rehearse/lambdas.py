"""The Lambda service side of the rehearsal: invoking functions on the host
(`lambda-host`, the Rust Runtime API emulator, which speaks Lambda's Invoke
API), checking the resource policies that let API Gateway and S3 invoke them,
and asynchronous invocations as Lambda runs them (retries, then the on-failure
destination of the function's EventInvokeConfig).
"""

import http.client
import json
import threading
import time
import urllib.parse


class Invocation:
    """The outcome of one synchronous invocation."""

    def __init__(self, status, payload, function_error):
        self.status = status
        self.payload = payload
        self.function_error = function_error

    @property
    def failed(self):
        return self.status != 200 or self.function_error is not None

    def json(self):
        try:
            return json.loads(self.payload or b"null")
        except ValueError:
            return None


class Host:
    """The lambda-host's Invoke API."""

    def __init__(self, url):
        parsed = urllib.parse.urlparse(url)
        self.host, self.port = parsed.hostname, parsed.port

    def invoke(self, function, payload, timeout=120):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            path = f"/2015-03-31/functions/{urllib.parse.quote(function, safe='')}/invocations"
            connection.request("POST", path, body=body, headers={"X-Amz-Invocation-Type": "RequestResponse"})
            response = connection.getresponse()
            return Invocation(response.status, response.read(), response.getheader("X-Amz-Function-Error"))
        finally:
            connection.close()

    def stats(self):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request("GET", "/_host/stats")
            return json.loads(connection.getresponse().read())
        finally:
            connection.close()

    def shutdown(self):
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request("POST", "/_host/shutdown")
            connection.getresponse().read()
        except OSError:
            pass
        finally:
            connection.close()


def _glob(pattern, value):
    import re

    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


def permission_allows(permissions, principal, source_arn, source_account):
    """Whether a function's resource policy (its Lambda permissions, as read
    back) lets `principal` invoke it for `source_arn`."""
    for permission in permissions:
        if permission.get("principal") != principal:
            continue
        action = permission.get("action", "lambda:InvokeFunction")
        if action not in ("lambda:InvokeFunction", "lambda:*"):
            continue
        wanted_arn = permission.get("source_arn")
        if wanted_arn and not _glob(wanted_arn, source_arn):
            continue
        wanted_account = permission.get("source_account")
        if wanted_account and wanted_account != source_account:
            continue
        return True
    return False


class AsyncInvoker:
    """Lambda's asynchronous invocation: the event is queued, tried, retried
    up to the EventInvokeConfig's MaximumRetryAttempts (default 2) and then
    sent to its on-failure destination. Lambda waits a minute, then two,
    between tries; the rehearsal compresses that to `retry_delay` seconds.
    The destination is written with the function's own role (as Lambda does),
    through `send_to_destination`, so the IAM stage sees that call too."""

    def __init__(self, host, send_to_destination, log, retry_delay=0.2):
        self.host = host
        self.send_to_destination = send_to_destination
        self.log = log
        self.retry_delay = retry_delay
        self.pending = 0
        self.lock = threading.Condition()
        self.outcomes = []  # (function, event, tries, ok)

    def submit(self, function, config, event):
        with self.lock:
            self.pending += 1
        thread = threading.Thread(target=self._run, args=(function, config, event), daemon=True)
        thread.start()

    def _run(self, function, config, event):
        retries = config.get("maximum_retry_attempts", 2) if config else 2
        tries, ok, last = 0, False, None
        try:
            while tries <= retries and not ok:
                if tries:
                    time.sleep(self.retry_delay)
                tries += 1
                last = self.host.invoke(function["name"], event)
                ok = not last.failed
            if not ok:
                destination = (config or {}).get("on_failure")
                record = {
                    "version": "1.0",
                    "requestContext": {
                        "functionArn": function["arn"] + ":$LATEST",
                        "condition": "RetriesExhausted",
                        "approximateInvokeCount": tries,
                    },
                    "requestPayload": event,
                    "responseContext": {"statusCode": 200, "functionError": last.function_error if last else None},
                    "responsePayload": last.json() if last else None,
                }
                if destination:
                    self.send_to_destination(function, destination, record)
                self.log(f"async {function['logical_id']}: failed {tries} times; "
                         f"{'sent to ' + destination if destination else 'dropped (no destination)'}")
        finally:
            with self.lock:
                self.outcomes.append((function["logical_id"], event, tries, ok))
                self.pending -= 1
                self.lock.notify_all()

    def wait_idle(self, timeout=120):
        deadline = time.monotonic() + timeout
        with self.lock:
            while self.pending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.lock.wait(left)
        return True
