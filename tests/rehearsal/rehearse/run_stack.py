"""Stages 4 and 5: run the deployed stack and judge its permissions.

Stage 4 starts, for every deployed function, its real bootstrap (a host build
of the binary its Metadata names) under the lambda-host, with exactly the
environment the deployed function has, the credentials of its own role (from
STS), and every AWS endpoint pointed at the AWS front (awsfront.py), which
forwards to moto and records each call. Then it delivers events the way AWS
does: HTTP through the front door (frontdoor.py, routes as deployed, in both
trailing-slash modes), S3 ObjectCreated by the deployed notification
configuration (awsfront.py, asynchronous invocation with the deployed
EventInvokeConfig, lambdas.py), SQS batches by the deployed event source
mapping (pollers.py). Through that it runs the web client's e2e tests
(tests/e2e, Chromium: web/ served from its own origin, the API called
cross-origin through the front door's CORS), tests/smoke, a presigned upload
(PUT → notification → ingest → live), a chat burst and a poison message that
must end in the dead-letter queue.

Stage 5 evaluates every recorded call against its function's deployed
policies (iam.py): a call no policy allows is a finding; a granted action no
call used is reported.

What the rehearsal overrides, knowingly (everything else is as deployed):
`AWS_ENDPOINT_URL` (the AWS front), the role's credentials, `AWS_REGION`,
`DOUYIN_S3_PATH_STYLE=true` (a loopback endpoint has no virtual hosts), and the
chat queue's visibility timeout, set to 1 s after stage 3 checked the deployed
one, so that a redelivery takes a second instead of minutes.
"""

from __future__ import annotations

import functools
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import boto3
from botocore.config import Config

from . import iam
from .awsfront import AwsFront
from .frontdoor import FrontDoor
from .lambdas import AsyncInvoker, Host
from .pollers import Poller

REPO = Path(__file__).resolve().parents[3]
SLASH_MODES = ("match", "default")
E2E = REPO / "tests/e2e"
# The web e2e test a seeded run needs (REHEARSAL_WEB=quick): a sign-up through the API's CORS,
# then a presigned PUT through the bucket's (a preflight), then the status polled.
QUICK_WEB_TEST = "a video the server rejects shows its reason"


def say(text):
    print(text, file=sys.stderr, flush=True)


def target_dir():
    return Path(os.environ.get("CARGO_TARGET_DIR") or Path.home() / ".cache/douyin-serverless/target")


def client(service, endpoint, region, credentials=None):
    keys = credentials or {"aws_access_key_id": "rehearsal", "aws_secret_access_key": "rehearsal"}
    return boto3.client(service, endpoint_url=endpoint, region_name=region,
                        config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}), **keys)


def role_credentials(sts, role_arn, session):
    granted = sts.assume_role(RoleArn=role_arn, RoleSessionName=session)["Credentials"]
    return {
        "aws_access_key_id": granted["AccessKeyId"],
        "aws_secret_access_key": granted["SecretAccessKey"],
        "aws_session_token": granted["SessionToken"],
    }


class Stack:
    """The running stack: host, AWS front, front doors, pollers."""

    def __init__(self, state, endpoint, findings, work):
        self.state = state
        self.endpoint = endpoint
        self.findings = findings
        self.work = work
        self.region = state["region"]
        self.problems = []  # strings from threads, turned into findings at the end
        self.host_process = None
        self.doors = {}
        self.pollers = []
        self.unused = []

    def add(self, stage, rule, resource, message):
        self.findings.add(stage, rule, resource, message)

    def start(self):
        state, region = self.state, self.region
        sts = client("sts", self.endpoint, region)
        bin_dir = Path(os.environ.get("REHEARSAL_BIN_DIR") or target_dir() / "debug")
        host_bin = Path(os.environ.get("REHEARSAL_HOST") or target_dir() / "debug" / "lambda-host")
        self.credentials = {}
        keys = {}
        for logical_id, function in state["functions"].items():
            creds = role_credentials(sts, function["role_arn"], f"rehearsal-{logical_id}"[:64])
            self.credentials[logical_id] = creds
            keys[creds["aws_access_key_id"]] = logical_id
        self.keys = keys
        self.host_url_holder = {}
        self.invoker = None
        self.front = AwsFront(state, self.endpoint, "http://127.0.0.1:1", keys, self.notify, self.problems, say)
        self.front.s3_client = client("s3", self.endpoint, region)
        front_url = self.front.serve()
        manifest = {"region": region, "account": state["account"], "functions": {}}
        for logical_id, function in state["functions"].items():
            binary = function.get("binary")
            bootstrap = bin_dir / (binary or "?")
            if not binary or not bootstrap.exists():
                self.add(4, "bootstrap", logical_id, f"no host build of binary {binary!r} at {bootstrap}")
                continue
            env = dict(function.get("environment") or {})
            env.update({"AWS_ENDPOINT_URL": front_url, "DOUYIN_S3_PATH_STYLE": "true"})
            creds = self.credentials[logical_id]
            manifest["functions"][function["name"]] = {
                "bootstrap": str(bootstrap),
                "env": env,
                "memory_mb": function.get("memory_size") or 128,
                "timeout_s": function.get("timeout") or 3,
                "arn": function["arn"],
                "max_instances": 4,
                "credentials": {
                    "access_key_id": creds["aws_access_key_id"],
                    "secret_access_key": creds["aws_secret_access_key"],
                    "session_token": creds["aws_session_token"],
                },
            }
        (self.work / "manifest.json").write_text(json.dumps(manifest, indent=1))
        port_file = self.work / "host.port"
        self.host_log = open(self.work / "host.log", "w")
        self.host_process = subprocess.Popen(
            [str(host_bin), "--manifest", str(self.work / "manifest.json"), "--log-dir", str(self.work / "logs"),
             "--listen", "127.0.0.1:0", "--port-file", str(port_file)],
            stdout=self.host_log, stderr=subprocess.STDOUT)
        for _ in range(200):
            if port_file.exists():
                break
            if self.host_process.poll() is not None:
                raise RuntimeError(f"lambda-host exited: see {self.work / 'host.log'}")
            time.sleep(0.05)
        host_url = "http://" + port_file.read_text().strip()
        self.host = Host(host_url)
        self.front.host = urllib.parse.urlparse(host_url)
        sqs_admin = client("sqs", self.endpoint, region)
        # moto runs its own delivery for an enabled mapping (through Docker, which fails and
        # returns the messages with their receive count raised): the pollers below deliver
        # instead, with the mapping's deployed settings (checked in stage 3).
        lambda_admin = client("lambda", self.endpoint, region)
        for mapping in state["event_source_mappings"]:
            lambda_admin.update_event_source_mapping(UUID=mapping["uuid"], Enabled=False)
        self.invoker = AsyncInvoker(self.host, self.send_failure_record, say)
        # Time compression: redeliveries in a second (the deployed value was checked in stage 3).
        for queue in state["queues"].values():
            if any(m["source_arn"] == queue["arn"] for m in state["event_source_mappings"]):
                sqs_admin.set_queue_attributes(QueueUrl=queue["url"], Attributes={"VisibilityTimeout": "1"})
        for mapping in state["event_source_mappings"]:
            if not mapping.get("enabled", True):
                continue
            function = state["functions"][mapping["function_logical_id"]]
            queue = next(q for q in state["queues"].values() if q["arn"] == mapping["source_arn"])
            sqs = client("sqs", front_url, region, self.credentials[function["logical_id"]])
            poller = Poller({"queue_url": queue["url"], "event_source_arn": queue["arn"],
                             "batch_size": mapping.get("batch_size") or 10,
                             "function_response_types": mapping.get("function_response_types") or []},
                            function, sqs, self.host, say)
            poller.start()
            self.pollers.append(poller)
        # Each suite is its own client (documentation addresses, never contacted): the
        # deployed per-address limits (5 registrations an hour) count each apart.
        clients = {"match": "203.0.113.1", "default": "203.0.113.2", "scenarios": "203.0.113.3"}
        for name, ip in clients.items():
            door = FrontDoor(state, self.host, self.problems, slash="default" if name == "default" else "match",
                             client_ip=ip)
            self.doors[name] = (door, door.serve())
        self.front_url = front_url

    def notify(self, function, event):
        config = function.get("event_invoke_config") or {}
        self.invoker.submit(function, config, event)

    def send_failure_record(self, function, destination, record):
        """Lambda writes an on-failure record with the function's own role."""
        if not destination.startswith("arn:aws:sqs:"):
            self.problems.append(f"{function['logical_id']}: on-failure destination {destination} is not a queue")
            return
        queue = next((q for q in self.state["queues"].values() if q["arn"] == destination), None)
        if queue is None:
            self.problems.append(f"{function['logical_id']}: on-failure destination {destination} is not deployed")
            return
        sqs = client("sqs", self.front_url, self.region, self.credentials[function["logical_id"]])
        sqs.send_message(QueueUrl=queue["url"], MessageBody=json.dumps(record))

    def stop(self):
        for poller in self.pollers:
            poller.stop()
        for door, _ in self.doors.values():
            door.stop()
        if self.host_process:
            self.host.shutdown()
            try:
                self.host_process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.host_process.kill()
        self.front.stop()


# -- the suites -------------------------------------------------------------
class StaticSite:
    """web/ as a static host serves it (an S3 bucket behind CloudFront, nginx): files
    only, on its own origin, so that every API call of the page is cross-origin."""

    def __init__(self, folder):
        class Quiet(SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def web_mode(quick):
    """REHEARSAL_WEB: `all` (the whole web e2e suite; tests/run), `quick` (QUICK_WEB_TEST; the
    web seeds), `off`; unset: `off` for a quick (seeded) run, else `all` if its tools are here."""
    wanted = os.environ.get("REHEARSAL_WEB", "")
    if wanted not in ("", "all", "quick", "off"):
        raise SystemExit(f"REHEARSAL_WEB={wanted}: expected all, quick or off")
    return wanted or ("off" if quick else "auto")


def web_tools():
    """(chromium, problems): what the web e2e tests need and is missing (tests/run installs it)."""
    chromium = os.environ.get("CHROMIUM") or "/usr/bin/chromium"
    problems = []
    if not os.access(chromium, os.X_OK):
        problems.append(f"no Chromium at {chromium} (apt-get install chromium, or set CHROMIUM)")
    if not shutil.which("node"):
        problems.append("no node (Node 20+)")
    if not (E2E / "node_modules/playwright-core").is_dir():
        problems.append("tests/e2e has no node_modules (cd tests/e2e && npm ci)")
    return chromium, problems


def run_web(stack, mode):
    """The web client's e2e tests (tests/e2e/web.test.mjs) in Chromium, web/ served from
    its own origin and the API through the front door: each test its own client (its own
    door and source address, 203.0.113.10 on), alternately in the two trailing-slash modes."""
    chromium, missing = web_tools()
    if mode == "auto" and missing:
        say(f"  stage 4: web client e2e NOT RUN ({'; '.join(missing)}); tests/run runs it")
        return 0
    if missing:
        stack.add(4, "web", "tests/e2e", f"cannot run the web client's e2e tests: {'; '.join(missing)}")
        return 0
    quick = mode == "quick"
    count = 1 if quick else len(re.findall(r"^test\(", (E2E / "web.test.mjs").read_text(), re.MULTILINE))
    site = StaticSite(REPO / "web")
    origin = site.url.rstrip("/")
    doors, urls = [], []
    for number in range(count):
        door = FrontDoor(stack.state, stack.host, stack.problems, slash=SLASH_MODES[number % 2],
                         client_ip=f"203.0.113.{10 + number}")
        url = door.serve()
        stack.doors[f"web-{number + 1}"] = (door, url)
        doors.append(door)
        urls.append(url)
    out = stack.work / "web-e2e.log"
    command = ["node", "--test", "--test-reporter=spec", "--test-concurrency=1"]
    if quick:
        command += ["--test-name-pattern", f"^{re.escape(QUICK_WEB_TEST)}$"]
    env = dict(os.environ, DOUYIN_E2E_WEB_URL=site.url, DOUYIN_E2E_API_URLS=",".join(urls), CHROMIUM=chromium)
    started = time.monotonic()
    try:
        with open(out, "w") as log:
            result = subprocess.run(command + ["web.test.mjs"], cwd=E2E, env=env, stdout=log,
                                    stderr=subprocess.STDOUT, timeout=900)
    finally:
        site.stop()
    text = out.read_text()
    passed = int((re.findall(r"^ℹ pass (\d+)$", text, re.MULTILINE) or ["0"])[-1])
    failed = int((re.findall(r"^ℹ fail (\d+)$", text, re.MULTILINE) or ["0"])[-1])
    skipped = int((re.findall(r"^ℹ skipped (\d+)$", text, re.MULTILINE) or ["0"])[-1])
    ok = result.returncode == 0 and passed > 0 and failed == 0
    if not ok:
        refused = sorted({o for door in doors for o in door.refused_origins})
        allowed = (stack.state["http_api"].get("cors") or {}).get("allow_origins")
        why = (f"; the API refused the page's origin {', '.join(refused)} (the deployed CORS allows "
               f"{allowed or 'no origin'}): the browser blocked its calls" if refused else "")
        tail = "\n".join(line for line in text.splitlines() if line.strip())
        tail = "\n".join(tail.splitlines()[-25:])
        stack.add(4, "web", "tests/e2e",
                  f"the web client's e2e tests failed through the front door (page at {origin}){why}:\n{tail}")
    preflights = sum(door.counts["preflights"] for door in doors)
    say(f"  stage 4: web client e2e in Chromium, page at {origin}, API through {count} front doors: "
        f"{'passed' if ok else 'FAILED'}, {passed} tests ({failed} failed, {skipped} skipped, {preflights} "
        f"preflights at the API, {time.monotonic() - started:.1f} s; log {out})")
    return passed if ok else 0


def run_smoke(stack, mode, base):
    out = stack.work / f"smoke-{mode}.log"
    with open(out, "w") as log:
        result = subprocess.run([sys.executable, str(REPO / "tests/smoke"), base], stdout=log, stderr=subprocess.STDOUT,
                                timeout=600)
    steps = sum(1 for line in out.read_text().splitlines() if line.startswith("ok "))
    if result.returncode != 0:
        tail = "\n".join(out.read_text().splitlines()[-15:])
        stack.add(4, "smoke", mode, f"tests/smoke failed through the front door ({mode} mode):\n{tail}")
    say(f"  stage 4: tests/smoke through the front door ({mode} mode): "
        f"{'passed' if result.returncode == 0 else 'FAILED'}, {steps} steps")
    return result.returncode == 0, steps


def call(base, method, path, params=None, body=None, headers=None):
    url = urllib.parse.urljoin(base, path.lstrip("/"))
    if params:
        url += "?" + urllib.parse.urlencode(params)
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def envelope(base, method, path, params=None, **kwargs):
    status, raw = call(base, method, path, params, **kwargs)
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, {"status_code": None, "raw": raw[:200].decode("utf-8", "replace")}


def upload_scenario(stack, base):
    """A presigned upload: ticket → PUT to the URL → S3 event → ingest → live."""
    video = (REPO / "tests/fixtures/media/h264-320x240-2s.mp4").read_bytes()
    name = "up" + os.urandom(4).hex()
    _, registered = envelope(base, "POST", "/douyin/user/register/", {"username": name, "password": "password1"})
    token = registered.get("token", "")
    _, ticket = envelope(base, "POST", "/douyin/publish/upload/", {
        "token": token, "title": "rehearsed upload", "content_type": "video/mp4", "content_length": str(len(video))})
    if ticket.get("status_code") != 0:
        stack.add(4, "upload", "publish-upload", f"the upload ticket was refused: {ticket}")
        return False
    url = ticket["upload_url"]
    headers = ticket.get("upload_headers") or {}
    status, raw = call(url, "PUT", "", body=video, headers=headers)
    if status != 200:
        stack.add(4, "upload", "presigned PUT", f"the PUT to the presigned URL answered {status}: {raw[:300]!r}")
        return False
    stack.invoker.wait_idle()
    video_id = ticket["video_id"]
    _, status_reply = envelope(base, "GET", "/douyin/publish/status/", {"token": token, "video_id": str(video_id)})
    if status_reply.get("state") != "live":
        stack.add(4, "upload", "video-ingest", f"the upload did not go live through S3 → ingest: {status_reply}")
        return False
    say("  stage 4: presigned upload: PUT → S3 notification → video-ingest → live")
    return True


def gzip_scenario(stack, base):
    """The feed asked for as the stock client asks (Accept-Encoding: gzip): the
    function's gzip body through the front door (base64 in the Lambda answer,
    bytes to the client, Content-Encoding kept) reads back as the plain answer."""
    url = urllib.parse.urljoin(base, "douyin/feed/")
    with urllib.request.urlopen(urllib.request.Request(url), timeout=60) as response:
        plain = json.loads(response.read())
    request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip"})
    with urllib.request.urlopen(request, timeout=60) as response:
        encoding, raw = response.headers.get("Content-Encoding"), response.read()
    if encoding != "gzip":
        stack.add(4, "gzip", "feed", f"a feed asked for gzip came back as {encoding!r} ({len(raw)} bytes)")
        return False
    if json.loads(gzip.decompress(raw)) != plain:
        stack.add(4, "gzip", "feed", "the gzipped feed does not read back as the plain one")
        return False
    say(f"  stage 4: gzip: the feed, {len(json.dumps(plain))} bytes of JSON, came as {len(raw)} bytes of gzip")
    return True


def chat_scenario(stack, base, quick=False):
    """A burst of messages stored by their sends, then more whose transactions the table
    throttles, through the queue and the consumer, and a poison message that must end in
    the dead-letter queue."""
    users = []
    for _ in range(2):
        name = "chat" + os.urandom(4).hex()
        _, reply = envelope(base, "POST", "/douyin/user/register/", {"username": name, "password": "password1"})
        users.append((reply.get("user_id"), reply.get("token")))
    (ann, ann_token), (ben, ben_token) = users
    sender = next(logical_id for logical_id, function in stack.state["functions"].items()
                  if function.get("binary") == "message-action")

    def sent(numbers, why=""):
        """ann sends m<number> for each number to ben; whether every send answered 0."""
        for number in numbers:
            _, reply = envelope(base, "POST", "/douyin/message/action/",
                                {"token": ann_token, "to_user_id": str(ben), "action_type": "1", "content": f"m{number}"})
            if reply.get("status_code") != 0:
                stack.add(4, "chat", sender, f"message {number}{why} was refused: {reply}")
                return False
        return True

    def conversation_is(count, finding, owner):
        """Whether ben reads m0 … m<count - 1>, in order (a finding for `owner` if not)."""
        _, polled = envelope(base, "GET", "/douyin/message/chat/", {"token": ben_token, "to_user_id": str(ann)})
        contents = [message["content"] for message in polled.get("message_list") or []]
        if contents != [f"m{number}" for number in range(count)]:
            stack.add(4, "chat", owner, f"{finding} {contents}")
            return False
        return True

    def consumed():
        return sum(len(ids) for poller in stack.pollers for ids, _, _ in poller.batches)

    # The send writes its message in one transaction: read back at once, none through the queue.
    if not sent(range(12)) or not conversation_is(12, "the burst came back as", "message-chat"):
        return False
    # The table throttles the sender's transactions: each send takes the queue's path (its
    # grant to send to the deployed queue, the queue's URL in its environment), and the
    # consumer (by the event source mapping) writes what the queue took, in order.
    consumed_before = consumed()
    stack.front.throttled.add((sender, "TransactWriteItems"))
    try:
        if not sent(range(12, 18), ", its transaction throttled,"):
            return False
    finally:
        stack.front.throttled.discard((sender, "TransactWriteItems"))
    for poller in stack.pollers:
        poller.wait_idle()
    if not conversation_is(18, "after the queue's path the conversation is", "message-consumer"):
        return False
    through_queue = consumed() - consumed_before
    if through_queue != 6:
        stack.add(4, "chat", "message-consumer", f"the consumer received {through_queue} messages from the queue, not 6")
        return False
    summary = "  stage 4: chat: 12 messages stored by their send; 6 whose transactions the table throttled through"
    if quick:  # a seeded run: the sends' calls are what it judges
        say(f"{summary} the queue and the consumer")
        return True
    # A poison message: the consumer fails it, SQS redelivers, the redrive policy moves it.
    chat = next(q for q in stack.state["queues"].values() if any(
        m["source_arn"] == q["arn"] for m in stack.state["event_source_mappings"]))
    dead_letter_arn = (chat.get("redrive_policy") or {}).get("dead_letter_target_arn")
    dead = next((q for q in stack.state["queues"].values() if q["arn"] == dead_letter_arn), None)
    if dead is None:
        stack.add(4, "chat", chat["logical_id"], "the chat queue has no deployed dead-letter queue")
        return False
    admin = client("sqs", stack.endpoint, stack.region)
    poison = {"QueueUrl": chat["url"], "MessageBody": "not a message"}
    if chat.get("fifo"):
        poison.update(MessageGroupId="poison", MessageDeduplicationId=os.urandom(8).hex())
    admin.send_message(**poison)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        attributes = admin.get_queue_attributes(QueueUrl=dead["url"], AttributeNames=["ApproximateNumberOfMessages"])
        if int(attributes["Attributes"]["ApproximateNumberOfMessages"]) > 0:
            break
        time.sleep(0.5)
    else:
        stack.add(4, "chat", dead["logical_id"], "a poison message never reached the dead-letter queue")
        return False
    say(f"{summary} {chat['logical_id']} and the consumer; a poison message in {dead['logical_id']}")
    return True


def check_host(stack):
    """Every cold start succeeded; no crash or timeout went unnoticed."""
    stats = stack.host.stats()
    functions = stats.get("functions", stats)
    for name, numbers in functions.items():
        for kind in ("init_errors", "exits", "timeouts"):
            count = numbers.get(kind) or 0
            if count:
                stack.add(4, "host", name, f"{count} {kind.replace('_', ' ')} (logs in {stack.work / 'logs'})")
    return stats


# -- stage 5 ------------------------------------------------------------------
def judge(stack):
    state = stack.state
    bucket = state.get("bucket") or {}
    bucket_statements = iam.statements_of([bucket["policy"]]) if bucket.get("policy") else []
    roles = {role["arn"]: role for role in state["roles"].values()}
    calls_by_function = {}
    denied = 0
    for logical_id, call in stack.front.records:
        if logical_id is None:
            if call.access_key:
                stack.add(5, "unknown-caller", call.access_key, f"{call.operation} by a key no function holds")
            continue
        calls_by_function.setdefault(logical_id, []).append(call)
    for logical_id, calls in calls_by_function.items():
        function = state["functions"][logical_id]
        role = roles.get(function["role_arn"])
        documents = list((role or {}).get("inline_policies", {}).values())
        documents += [doc for doc in (role or {}).get("managed_policies", {}).values() if doc]
        statements = iam.statements_of(documents)
        # Every SDK call in production is HTTPS: the bucket policy's SecureTransport deny must not apply.
        context = {"aws:SecureTransport": "true", "aws:PrincipalAccount": state["account"]}
        seen = set()
        needs = []
        for call in calls:
            for need in call.needs:
                needs.append(need)
                key = (need.action, need.resource, json.dumps(need.context, sort_keys=True))
                if key in seen:
                    continue
                seen.add(key)
                try:
                    allowed, why = iam.evaluate(need, statements, bucket_statements, function["role_arn"], context)
                except iam.PolicyError as error:
                    stack.add(5, "policy", logical_id, str(error))
                    continue
                if not allowed:
                    denied += 1
                    stack.add(5, "denied", logical_id,
                              f"{need.action} on {need.resource} {need.context or ''} ({call.operation} "
                              f"{call.detail}): {why}")
        for grant in iam.granted(statements):
            action, resource, sid = grant
            if action.startswith(("logs:", "xray:")):
                continue  # the platform's own (managed policies), not our code's
            if not iam.used(grant, needs):
                stack.unused.append(f"{logical_id}: {action} on {resource} (statement {sid or '-'})")
    if stack.unused:
        say("  stage 5: granted, and no call of this run used it (a test gap or a grant to remove):")
        for line in stack.unused:
            say(f"    {line}")
    say(f"  stage 5: {sum(len(c) for c in calls_by_function.values())} calls by "
        f"{len(calls_by_function)} functions checked against their policies; {denied} denied")


def run(stages, deployment, state, findings, args):
    work = Path(tempfile.mkdtemp(prefix="rehearsal-"))
    endpoint = args.endpoint
    stack = Stack(state, endpoint, findings, work)
    say(f"  stage 4: starting {len(state['functions'])} functions (work folder {work})")
    started = time.monotonic()
    before = len(findings)
    passed = 0
    try:
        stack.start()
        # A seeded run needs only the calls: one pass of the smoke test and the chat's sends
        # (REHEARSAL_QUICK=1).
        quick = os.environ.get("REHEARSAL_QUICK") == "1"
        # First, on the fresh stack: the web tests count the feed's videos.
        mode = web_mode(quick)
        if mode != "off":
            passed += run_web(stack, mode)
        for mode in SLASH_MODES:
            ok, steps = run_smoke(stack, mode, stack.doors[mode][1])
            passed += steps
            if quick:
                break
        base = stack.doors["scenarios"][1]
        if not quick:
            passed += upload_scenario(stack, base)
            passed += gzip_scenario(stack, base)
        # The chat's queue is the sender's path only when the table throttles it: a seeded
        # run needs that path's calls too.
        passed += chat_scenario(stack, base, quick)
        stack.invoker.wait_idle()
        check_host(stack)
        for door, _ in stack.doors.values():
            if door.counts["gateway_errors"]:
                findings.add(4, "gateway", door.slash,
                             f"{door.counts['gateway_errors']} answers were API Gateway's, not the envelope")
    finally:
        stack.stop()
    for problem in stack.problems:
        findings.add(4, "events", "", problem)
    say(f"  stage 4 ({time.monotonic() - started:.1f} s)")
    if 5 in stages:
        judge(stack)
        passed += 1
    # The closing count tests/run adds up: what passed, and every finding of stages 4-5.
    print(f"rehearsal: {passed} passed, {len(findings) - before} failed", flush=True)
