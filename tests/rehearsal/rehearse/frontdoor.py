"""The front door: API Gateway (HTTP API, payload format 2.0) as deployed.

Real HTTP requests in, API Gateway v2 events out to the functions, by the
routes read back from the deployed API (`$default` for the rest), with what
API Gateway itself does around them:

- routes matched by method and path; `ANY` routes; `$default` last. A request
  to `/x/` when only the route `/x` exists is matched as the `slash` mode says:
  `match` (what users report of API Gateway: `/x/` reaches the route `/x`) or
  `default` (it falls through to `$default`). Only a real deploy can tell
  which holds, so the rehearsal runs its suites through both;
- the Lambda permission (resource policy) that lets API Gateway invoke the
  route's function for this API, method and path, or API Gateway's 500;
- the payload limit: a synchronous Lambda event is at most 6 MB (6,291,456
  bytes) with the body base64-encoded, else API Gateway's 413;
- bodies base64-encoded unless their content type is text (JSON, text/*, XML);
- the 30 s integration timeout (503) and a function error (500), both with API
  Gateway's own `{"message": ...}` bodies, which the client does not read as
  our envelope: the rehearsal counts them;
- CORS from the API's CorsConfiguration as deployed (API Gateway's "Configure
  CORS for HTTP APIs"): a preflight (OPTIONS with Origin and
  Access-Control-Request-Method) is answered by API Gateway itself, never by
  an integration, with the configured headers when the origin, the method and
  every requested header are allowed and none otherwise (the browser then
  refuses the call); other responses to a request with an allowed Origin get
  Access-Control-Allow-Origin (and Expose-Headers, Allow-Credentials), and the
  integration's own access-control-* headers are dropped. Without a
  configuration nothing is added and OPTIONS is routed like any method;
- the response's v2 form: statusCode, headers, cookies, body (base64 decoded).
"""

import base64
import json
import re
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .lambdas import permission_allows

PAYLOAD_LIMIT = 6 * 1024 * 1024  # bytes, synchronous invocation, event included
INTEGRATION_TIMEOUT = 30  # seconds
TEXT_TYPES = re.compile(r"^(text/.*|application/(json|.*\+json|xml|.*\+xml|javascript))(;.*)?$", re.IGNORECASE)


def route_matches(route_path, path):
    """A route key's path against a request path (`{param}` and `{proxy+}`)."""
    pattern = ""
    for segment in route_path.strip("/").split("/"):
        if segment.endswith("+}"):
            pattern += "/.+"
        elif segment.startswith("{") and segment.endswith("}"):
            pattern += "/[^/]+"
        else:
            pattern += "/" + re.escape(segment)
    return re.fullmatch(pattern or "/", path) is not None


class FrontDoor:
    """One API's front door; `serve()` returns its base URL."""

    def __init__(self, state, host, findings, slash="match", client_ip=None):
        """`client_ip`: the source address API Gateway reports for this door's requests (the
        rehearsal runs each suite as its own client, so that per-address rate limits, on as
        deployed, count each suite apart); None: the TCP peer's."""
        self.client_ip = client_ip
        self.state = state
        self.host = host
        self.findings = findings  # list of strings, appended from threads
        self.slash = slash
        api = state["http_api"]
        self.api_id = api["id"]
        self.routes = [
            {"route_key": key, "function": route.get("function_logical_id")} for key, route in api["routes"].items()
        ]
        cors = api.get("cors") or {}
        self.cors = {
            "AllowOrigins": cors.get("allow_origins") or [],
            "AllowMethods": cors.get("allow_methods") or [],
            "AllowHeaders": cors.get("allow_headers") or [],
            "ExposeHeaders": cors.get("expose_headers") or [],
            "AllowCredentials": bool(cors.get("allow_credentials")),
            "MaxAge": cors.get("max_age"),
        } if cors else {}
        self.functions = state["functions"]
        self.counts = {"requests": 0, "gateway_errors": 0, "too_large": 0, "preflights": 0}
        self.refused_origins = set()  # Origins of requests answered without CORS headers
        self.lock = threading.Lock()
        self.server = None

    # -- routing ----------------------------------------------------------
    def pick(self, method, path):
        """(route key, function logical id) for a request, as deployed."""
        candidates = [path]
        if self.slash == "match" and path.endswith("/") and path != "/":
            candidates.append(path.rstrip("/"))
        for candidate in candidates:
            for wanted_method in (method, "ANY"):
                for route in self.routes:
                    key = route["route_key"]
                    if key == "$default" or " " not in key:
                        continue
                    route_method, route_path = key.split(" ", 1)
                    if route_method == wanted_method and route_matches(route_path, candidate):
                        return key, route["function"]
        for route in self.routes:
            if route["route_key"] == "$default":
                return "$default", route["function"]
        return None, None

    # -- CORS -------------------------------------------------------------
    def origin_allowed(self, origin):
        allowed = self.cors.get("AllowOrigins") or []
        return bool(origin) and ("*" in allowed or origin in allowed)

    def cors_headers(self, origin):
        """The CORS headers API Gateway adds to an answer for `origin` (none when not allowed)."""
        if not self.cors:
            return {}
        if not self.origin_allowed(origin):
            self.refuse(origin)
            return {}
        allowed = self.cors.get("AllowOrigins") or []
        headers = {"access-control-allow-origin": "*" if "*" in allowed else origin}
        if self.cors.get("ExposeHeaders"):
            headers["access-control-expose-headers"] = ",".join(self.cors["ExposeHeaders"])
        if self.cors.get("AllowCredentials"):
            headers["access-control-allow-credentials"] = "true"
        return headers

    def refuse(self, origin):
        if origin:
            with self.lock:
                self.refused_origins.add(origin)

    def preflight(self, origin, method, requested_headers):
        """API Gateway's own answer to a preflight: 204, with the CORS headers only if
        the origin, the method and every requested header are allowed."""
        with self.lock:
            self.counts["preflights"] += 1
        methods = [m.upper() for m in self.cors.get("AllowMethods") or []]
        allow_headers = [h.lower() for h in self.cors.get("AllowHeaders") or []]
        requested = [h.strip().lower() for h in requested_headers.split(",") if h.strip()]
        if not self.origin_allowed(origin) or not ("*" in methods or method.upper() in methods):
            self.refuse(origin)
            return 204, {}, b""
        if "*" not in allow_headers and any(h not in allow_headers for h in requested):
            self.refuse(origin)
            return 204, {}, b""
        headers = self.cors_headers(origin)
        headers["access-control-allow-methods"] = ",".join(methods)
        if allow_headers:
            headers["access-control-allow-headers"] = ",".join(allow_headers)
        if self.cors.get("MaxAge") is not None:
            headers["access-control-max-age"] = str(self.cors["MaxAge"])
        return 204, headers, b""

    # -- the event --------------------------------------------------------
    def event(self, handler, route_key, body):
        parsed = urllib.parse.urlsplit(handler.path)
        headers = {}
        cookies = []
        for name, value in handler.headers.items():
            lower = name.lower()
            if lower == "cookie":
                cookies.extend(part.strip() for part in value.split(";") if part.strip())
                continue
            headers[lower] = f"{headers[lower]},{value}" if lower in headers else value
        query = {}
        for name, value in urllib.parse.parse_qsl(parsed.query, keep_blank_values=True):
            query[name] = f"{query[name]},{value}" if name in query else value
        content_type = headers.get("content-type", "")
        is_text = bool(TEXT_TYPES.match(content_type))
        now = time.time()
        request_id = secrets.token_hex(8)
        event = {
            "version": "2.0",
            "routeKey": route_key,
            "rawPath": parsed.path,
            "rawQueryString": parsed.query,
            "headers": headers,
            "requestContext": {
                "accountId": self.state["account"],
                "apiId": self.api_id,
                "domainName": headers.get("host", ""),
                "domainPrefix": headers.get("host", "").split(".")[0],
                "http": {
                    "method": handler.command,
                    "path": parsed.path,
                    "protocol": "HTTP/1.1",
                    "sourceIp": self.client_ip or handler.client_address[0],
                    "userAgent": headers.get("user-agent", ""),
                },
                "requestId": request_id,
                "routeKey": route_key,
                "stage": "$default",
                "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
                "timeEpoch": int(now * 1000),
            },
            "isBase64Encoded": False,
        }
        if cookies:
            event["cookies"] = cookies
        if query:
            event["queryStringParameters"] = query
        if body:
            if is_text:
                event["body"] = body.decode("utf-8", "replace")
            else:
                event["body"] = base64.b64encode(body).decode()
                event["isBase64Encoded"] = True
        return event

    def answer(self, handler):
        """Handles one request end to end; returns (status, headers, body)."""
        with self.lock:
            self.counts["requests"] += 1
        length = int(handler.headers.get("content-length") or 0)
        body = handler.rfile.read(length) if length else b""
        path = urllib.parse.urlsplit(handler.path).path
        origin = handler.headers.get("origin", "")
        if handler.command == "OPTIONS" and self.cors and origin and handler.headers.get(
                "access-control-request-method"):
            # API Gateway answers preflights itself when CORS is configured.
            return self.preflight(origin, handler.headers.get("access-control-request-method", ""),
                                  handler.headers.get("access-control-request-headers", ""))
        route_key, logical_id = self.pick(handler.command, path)
        if logical_id is None:
            return self.gateway_error(404, "Not Found", origin)
        function = self.functions[logical_id]
        # API Gateway invokes as arn:…:execute-api:<region>:<account>:<api>/<stage>/<method><route path>
        # (`$default` for the default route), which the permission's SourceArn must match.
        route_part = "$default" if route_key == "$default" else route_key.replace(" ", "", 1)
        source_arn = (
            f"arn:aws:execute-api:{self.state['region']}:{self.state['account']}:{self.api_id}/$default/{route_part}"
        )
        if not permission_allows(function.get("permissions") or [], "apigateway.amazonaws.com", source_arn,
                                 self.state["account"]):
            self.findings.append(
                f"front door: API Gateway may not invoke {logical_id} for {handler.command} {path} "
                f"(no Lambda permission matches {source_arn})"
            )
            return self.gateway_error(500, "Internal Server Error", origin)
        event = self.event(handler, route_key, body)
        encoded = json.dumps(event).encode()
        if len(encoded) > PAYLOAD_LIMIT:
            with self.lock:
                self.counts["too_large"] += 1
            return self.gateway_error(413, "Request Entity Too Large", origin)
        started = time.monotonic()
        try:
            outcome = self.host.invoke(function["name"], encoded, timeout=INTEGRATION_TIMEOUT)
        except TimeoutError:
            return self.gateway_error(503, "Service Unavailable", origin)
        if time.monotonic() - started > INTEGRATION_TIMEOUT:
            return self.gateway_error(503, "Service Unavailable", origin)
        if outcome.failed:
            return self.gateway_error(500, "Internal Server Error", origin)
        return self.response(outcome.json(), origin)

    def response(self, payload, origin):
        headers = self.cors_headers(origin)
        if not isinstance(payload, dict) or "statusCode" not in payload:
            # Format 2.0's inference: a JSON value without statusCode is the body.
            headers["content-type"] = "application/json"
            return 200, headers, json.dumps(payload).encode()
        # With CORS configured, API Gateway ignores the integration's own CORS headers.
        def own(name):
            return bool(self.cors) and name.startswith("access-control-")

        for name, value in (payload.get("headers") or {}).items():
            if not own(name.lower()):
                headers[name.lower()] = str(value)
        for name, values in (payload.get("multiValueHeaders") or {}).items():
            if not own(name.lower()):
                headers[name.lower()] = ",".join(str(v) for v in values)
        body = payload.get("body") or ""
        body = base64.b64decode(body) if payload.get("isBase64Encoded") else body.encode()
        cookies = payload.get("cookies") or []
        if cookies:
            headers["set-cookie"] = cookies
        return int(payload["statusCode"]), headers, body

    def gateway_error(self, status, message, origin):
        with self.lock:
            self.counts["gateway_errors"] += 1
        headers = self.cors_headers(origin)
        headers["content-type"] = "application/json"
        return status, headers, json.dumps({"message": message}).encode()

    # -- serving ----------------------------------------------------------
    def serve(self):
        door = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one(self):
                try:
                    status, headers, body = door.answer(self)
                except Exception as error:  # the rehearsal's own fault: say so loudly
                    door.findings.append(f"front door crashed on {self.command} {self.path}: {error!r}")
                    status, headers, body = 500, {"content-type": "application/json"}, b'{"message":"rehearsal"}'
                self.send_response(status)
                for name, value in headers.items():
                    for one in value if isinstance(value, list) else [value]:
                        self.send_header(name, one)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_HEAD = handle_one

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/"

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
