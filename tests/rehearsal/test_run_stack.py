"""Unit tests of stages 4-5's pieces that need no emulator: what a request
asks IAM for (calls.py), the policy evaluation (iam.py), the front door's
routing and events (frontdoor.py) and the Lambda permissions (lambdas.py).
Run with `tests/rehearsal/run --unit`."""

import io
import json
import unittest
from email.message import Message

from rehearse import calls, iam
from rehearse.frontdoor import FrontDoor, route_matches
from rehearse.lambdas import Invocation, permission_allows

STATE = {
    "region": "us-east-1",
    "account": "123456789012",
    "tables": {"Table": {"name": "douyin", "hash_key": "pk"}},
    "queues": {"ChatQueue": {"name": "chat.fifo", "url": "http://moto/123456789012/chat.fifo",
                             "arn": "arn:aws:sqs:us-east-1:123456789012:chat.fifo"}},
    "secrets": {"JwtSecret": {"name": "jwt", "arn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt-AbC"}},
}
TABLE = "arn:aws:dynamodb:us-east-1:123456789012:table/douyin"
AUTH = "AWS4-HMAC-SHA256 Credential=ASIAKEY/20261125/us-east-1/{}/aws4_request, SignedHeaders=host, Signature=0"


def describe(service, method, path, body=b"", target="", query=None, headers=None):
    all_headers = {"authorization": AUTH.format(service)}
    if target:
        all_headers["x-amz-target"] = target
    all_headers.update(headers or {})
    return calls.describe(method, path, query or {}, all_headers, body, STATE)


class Calls(unittest.TestCase):
    def test_a_transaction_needs_each_item_action_with_its_leading_key(self):
        body = json.dumps({"TransactItems": [
            {"Put": {"TableName": "douyin", "Item": {"pk": {"S": "USER#1"}, "sk": {"S": "PROFILE"}}}},
            {"Update": {"TableName": "douyin", "Key": {"pk": {"S": "VIDEO#2"}, "sk": {"S": "V"}}}},
            {"ConditionCheck": {"TableName": "douyin", "Key": {"pk": {"S": "USERNAME#a"}, "sk": {"S": "U"}}}},
        ]}).encode()
        call = describe("dynamodb", "POST", "/", body, "DynamoDB_20120810.TransactWriteItems")
        self.assertEqual(call.access_key, "ASIAKEY")
        self.assertEqual([(n.action, n.resource, n.context["dynamodb:LeadingKeys"]) for n in call.needs], [
            ("dynamodb:PutItem", TABLE, ["USER#1"]),
            ("dynamodb:UpdateItem", TABLE, ["VIDEO#2"]),
            ("dynamodb:ConditionCheckItem", TABLE, ["USERNAME#a"]),
        ])

    def test_a_query_on_an_index_needs_the_index_arn(self):
        body = json.dumps({"TableName": "douyin", "IndexName": "gsi1", "KeyConditionExpression": "gsi1pk = :p"})
        call = describe("dynamodb", "POST", "/", body.encode(), "DynamoDB_20120810.Query")
        self.assertEqual(call.needs[0].resource, TABLE + "/index/gsi1")

    def test_a_cors_preflight_to_a_presigned_url_needs_no_permission(self):
        preflight = calls.describe("OPTIONS", "/bucket/uploads/8", {
            "X-Amz-Credential": ["ASIAPRESIGN/20261125/us-east-1/s3/aws4_request"]}, {}, b"", STATE)
        self.assertEqual((preflight.service, preflight.operation, preflight.needs), ("s3", "Preflight", []))

    def test_s3_reads_heads_and_copies(self):
        head = describe("s3", "HEAD", "/bucket/uploads/7")
        self.assertEqual((head.needs[0].action, head.needs[0].resource), ("s3:GetObject", "arn:aws:s3:::bucket/uploads/7"))
        copy = describe("s3", "PUT", "/bucket/videos/7.mp4", headers={"x-amz-copy-source": "/bucket/uploads/7"})
        self.assertEqual([n.action for n in copy.needs], ["s3:GetObject", "s3:PutObject"])
        # A presigned URL names its signer in the query.
        presigned = calls.describe("PUT", "/bucket/uploads/8", {
            "X-Amz-Credential": ["ASIAPRESIGN/20261125/us-east-1/s3/aws4_request"]}, {}, b"", STATE)
        self.assertEqual((presigned.access_key, presigned.operation), ("ASIAPRESIGN", "PutObject"))

    def test_sqs_secrets_and_lambda_resources(self):
        send = describe("sqs", "POST", "/", json.dumps({"QueueUrl": STATE["queues"]["ChatQueue"]["url"]}).encode(),
                        "AmazonSQS.SendMessageBatch")
        self.assertEqual((send.needs[0].action, send.needs[0].resource),
                         ("sqs:SendMessage", "arn:aws:sqs:us-east-1:123456789012:chat.fifo"))
        secret = describe("secretsmanager", "POST", "/", b'{"SecretId": "jwt"}', "secretsmanager.GetSecretValue")
        self.assertEqual(secret.needs[0].resource, STATE["secrets"]["JwtSecret"]["arn"])
        invoke = describe("lambda", "POST", "/2015-03-31/functions/stack-Feed-1/invocations")
        self.assertEqual(invoke.needs[0].resource, "arn:aws:lambda:us-east-1:123456789012:function:stack-Feed-1")


class Iam(unittest.TestCase):
    RATE = [{"Sid": "RateWindows", "Effect": "Allow", "Action": "dynamodb:UpdateItem", "Resource": TABLE,
             "Condition": {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["RATE#*"]}}}]

    def allowed(self, statements, action, resource, context=None, bucket=()):
        need = calls.Need(action, resource, context or {})
        return iam.evaluate(need, statements, list(bucket), "arn:aws:iam::1:role/r", {"aws:SecureTransport": "true"})[0]

    def test_a_key_condition_allows_only_its_keys(self):
        self.assertTrue(self.allowed(self.RATE, "dynamodb:UpdateItem", TABLE, {"dynamodb:LeadingKeys": ["RATE#login#1"]}))
        self.assertFalse(self.allowed(self.RATE, "dynamodb:UpdateItem", TABLE, {"dynamodb:LeadingKeys": ["USER#1"]}))
        self.assertFalse(self.allowed(self.RATE, "dynamodb:PutItem", TABLE, {"dynamodb:LeadingKeys": ["RATE#1"]}))

    def test_the_table_arn_does_not_cover_its_indexes(self):
        table_only = [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": TABLE}]
        self.assertFalse(self.allowed(table_only, "dynamodb:Query", TABLE + "/index/gsi1"))
        indexes = [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": TABLE + "/index/*"}]
        self.assertTrue(self.allowed(indexes, "dynamodb:Query", TABLE + "/index/gsi1"))

    def test_an_explicit_deny_wins_and_secure_transport_is_true(self):
        allow = [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]
        deny_insecure = [{"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                          "Resource": "arn:aws:s3:::b/*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]
        self.assertTrue(self.allowed(allow, "s3:GetObject", "arn:aws:s3:::b/k", bucket=deny_insecure))
        deny_all = [dict(deny_insecure[0], Condition={})]
        self.assertFalse(self.allowed(allow, "s3:GetObject", "arn:aws:s3:::b/k", bucket=deny_all))

    def test_an_operator_it_does_not_know_is_an_error_not_a_pass(self):
        odd = [{"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "1.2.3.4"}}}]
        with self.assertRaises(iam.PolicyError):
            self.allowed(odd, "s3:GetObject", "arn:aws:s3:::b/k")

    def test_unused_grants_are_found(self):
        statements = [{"Sid": "T", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"], "Resource": TABLE}]
        needs = [calls.Need("dynamodb:GetItem", TABLE)]
        unused = [grant for grant in iam.granted(statements) if not iam.used(grant, needs)]
        self.assertEqual(unused, [("dynamodb:PutItem", TABLE, "T")])


class FrontDoorRouting(unittest.TestCase):
    def door(self, slash):
        state = dict(STATE, functions={}, http_api={"id": "api1", "cors": None, "routes": {
            "POST /douyin/user/register": {"function_logical_id": "Register"},
            "$default": {"function_logical_id": "Fallback"},
        }})
        return FrontDoor(state, host=None, findings=[], slash=slash)

    def test_the_two_trailing_slash_modes(self):
        self.assertEqual(self.door("match").pick("POST", "/douyin/user/register/"),
                         ("POST /douyin/user/register", "Register"))
        self.assertEqual(self.door("default").pick("POST", "/douyin/user/register/"), ("$default", "Fallback"))
        for slash in ("match", "default"):
            self.assertEqual(self.door(slash).pick("POST", "/douyin/user/register"),
                             ("POST /douyin/user/register", "Register"))
            self.assertEqual(self.door(slash).pick("GET", "/douyin/user/register"), ("$default", "Fallback"))

    def test_route_paths_with_parameters(self):
        self.assertTrue(route_matches("/a/{id}", "/a/7"))
        self.assertFalse(route_matches("/a/{id}", "/a/7/b"))
        self.assertTrue(route_matches("/a/{proxy+}", "/a/7/b"))

    def test_permissions_match_the_source_arn(self):
        permissions = [{"principal": "apigateway.amazonaws.com", "action": "lambda:InvokeFunction",
                        "source_arn": "arn:aws:execute-api:us-east-1:1:api1/*/POST/douyin/user/register"}]
        self.assertTrue(permission_allows(permissions, "apigateway.amazonaws.com",
                                          "arn:aws:execute-api:us-east-1:1:api1/$default/POST/douyin/user/register", "1"))
        self.assertFalse(permission_allows(permissions, "apigateway.amazonaws.com",
                                           "arn:aws:execute-api:us-east-1:1:api1/$default/$default", "1"))
        self.assertFalse(permission_allows(permissions, "s3.amazonaws.com", "arn:aws:s3:::b", "1"))


class FakeHost:
    """The lambda-host's Invoke API, answering `reply` and keeping what it was asked."""

    def __init__(self, reply):
        self.reply = reply
        self.invoked = []

    def invoke(self, function, payload, timeout=120):
        self.invoked.append((function, json.loads(payload)))
        return Invocation(200, json.dumps(self.reply).encode(), None)


class FakeRequest:
    """What FrontDoor.answer reads of an http.server request handler."""

    def __init__(self, method, path, headers):
        self.command, self.path, self.client_address = method, path, ("127.0.0.1", 5000)
        self.headers = Message()
        for name, value in headers.items():
            self.headers[name] = value
        self.rfile = io.BytesIO(b"")


WEB = "http://127.0.0.1:8001"
CORS = {"allow_origins": [WEB], "allow_methods": ["GET", "POST"], "allow_headers": ["content-type"], "max_age": 3600}


class FrontDoorCors(unittest.TestCase):
    """API Gateway's CORS for HTTP APIs, from the deployed CorsConfiguration."""

    def door(self, cors, integration_headers=None):
        reply = {"statusCode": 200, "headers": {"content-type": "application/json", **(integration_headers or {})},
                 "body": '{"status_code":0}'}
        self.host = FakeHost(reply)
        state = dict(STATE, functions={"Fallback": {"name": "fallback", "permissions": [
            {"principal": "apigateway.amazonaws.com", "source_arn": "arn:aws:execute-api:us-east-1:123456789012:api1/*"}]}},
            http_api={"id": "api1", "cors": cors, "routes": {"$default": {"function_logical_id": "Fallback"}}})
        return FrontDoor(state, host=self.host, findings=[])

    def preflight(self, door, origin, method="GET", headers=""):
        asked = {"Origin": origin, "Access-Control-Request-Method": method}
        if headers:
            asked["Access-Control-Request-Headers"] = headers
        return door.answer(FakeRequest("OPTIONS", "/douyin/feed/", asked))

    def test_a_preflight_is_answered_by_the_gateway_with_the_configuration(self):
        door = self.door(CORS)
        status, headers, body = self.preflight(door, WEB, "POST", "Content-Type")
        self.assertEqual((status, body), (204, b""))
        self.assertEqual(headers, {"access-control-allow-origin": WEB, "access-control-allow-methods": "GET,POST",
                                   "access-control-allow-headers": "content-type", "access-control-max-age": "3600"})
        self.assertEqual(self.host.invoked, [], "a preflight reached the integration")

    def test_a_preflight_of_an_origin_method_or_header_not_allowed_gets_no_cors_headers(self):
        door = self.door(CORS)
        for origin, method, asked in (("http://127.0.0.1:9", "GET", ""), (WEB, "DELETE", ""),
                                      (WEB, "POST", "x-api-key")):
            self.assertEqual(self.preflight(door, origin, method, asked), (204, {}, b""), (origin, method, asked))
        self.assertEqual(self.host.invoked, [])
        self.assertEqual(door.refused_origins, {"http://127.0.0.1:9", WEB})

    def test_an_allowed_origin_gets_the_gateways_headers_and_never_the_integrations(self):
        door = self.door(CORS, {"Access-Control-Allow-Origin": "https://evil.example", "x-kept": "1"})
        status, headers, _ = door.answer(FakeRequest("GET", "/douyin/feed/", {"Origin": WEB}))
        self.assertEqual(status, 200)
        self.assertEqual(headers["access-control-allow-origin"], WEB)
        self.assertEqual(headers["x-kept"], "1")
        # An origin not allowed: nothing the browser would accept, whatever the integration said.
        status, headers, _ = door.answer(FakeRequest("GET", "/douyin/feed/", {"Origin": "http://127.0.0.1:9"}))
        self.assertEqual(status, 200)
        self.assertFalse([name for name in headers if name.startswith("access-control-")], headers)
        self.assertEqual(len(self.host.invoked), 2)

    def test_a_wildcard_origin_answers_star(self):
        door = self.door(dict(CORS, allow_origins=["*"]))
        _, headers, _ = door.answer(FakeRequest("POST", "/douyin/user/login/", {"Origin": "https://any.example"}))
        self.assertEqual(headers["access-control-allow-origin"], "*")

    def test_without_a_configuration_options_reaches_the_integration_and_its_headers_pass(self):
        door = self.door(None, {"Access-Control-Allow-Origin": "https://app.example"})
        status, headers, _ = self.preflight(door, WEB)
        self.assertEqual(status, 200)
        self.assertEqual(headers["access-control-allow-origin"], "https://app.example")
        self.assertEqual(self.host.invoked[0][1]["requestContext"]["http"]["method"], "OPTIONS")


if __name__ == "__main__":
    unittest.main()
