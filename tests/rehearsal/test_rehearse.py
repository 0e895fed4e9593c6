"""Unit tests of the rehearsal's pure parts (no emulator): SAM CLI's
parameter-override grammar, CloudFormation's parameter validation, the
intrinsic functions, the strict adapter's table, API Gateway's route matching
and the SDK worst case. tests/rehearsal/run --unit runs them (and .ci/run).

    python -m unittest discover -s tests/rehearsal -p 'test_*.py'
"""

from __future__ import annotations

import unittest

from rehearse import checks, deploy, intrinsics, language_extensions, translate
from rehearse.findings import Findings


class ParameterOverrides(unittest.TestCase):
    def test_short_form_with_quotes_and_escapes(self) -> None:
        parsed, leftover = translate.parse_parameter_overrides(
            'Stage=prod LogLevel=warn Title="a b" Other=\'c d\' Escaped=x\\ y WebOrigins=https://a.org,https://b.org'
        )
        self.assertEqual(
            parsed,
            {
                "Stage": "prod",
                "LogLevel": "warn",
                "Title": "a b",
                "Other": "c d",
                "Escaped": "x y",
                "WebOrigins": "https://a.org,https://b.org",
            },
        )
        self.assertEqual(leftover.strip(), "")

    def test_long_form(self) -> None:
        parsed, leftover = translate.parse_parameter_overrides(
            "ParameterKey=Stage,ParameterValue=prod ParameterKey=LogLevel,ParameterValue=warn"
        )
        self.assertEqual(parsed, {"Stage": "prod", "LogLevel": "warn"})
        self.assertEqual(leftover.strip(), "")

    def test_text_sam_cli_would_skip_silently_is_returned(self) -> None:
        parsed, leftover = translate.parse_parameter_overrides("Stage=prod Forgotten LogLevel=warn")
        self.assertEqual(parsed, {"Stage": "prod", "LogLevel": "warn"})
        self.assertEqual(leftover.split(), ["Forgotten"])


class Parameters(unittest.TestCase):
    TEMPLATE = {
        "Parameters": {
            "Count": {"Type": "Number", "Default": 2, "MinValue": 1, "MaxValue": 8},
            "Zone": {"Type": "String", "Default": "UTC", "AllowedValues": ["UTC", "Asia/Shanghai"]},
            "Rate": {"Type": "String", "Default": "off", "AllowedPattern": "^(off|[1-9][0-9]*/[1-9][0-9]*)$"},
            "Origins": {"Type": "CommaDelimitedList", "Default": "*"},
        }
    }

    def resolve(self, overrides: dict[str, str]) -> tuple[dict, list[str]]:
        findings = Findings()
        values = translate.resolve_parameters(self.TEMPLATE, overrides, findings, "test")
        return values, [f.rule for f in findings]

    def test_defaults_are_text_and_lists_are_lists(self) -> None:
        values, rules = self.resolve({"Origins": "https://a.org, https://b.org"})
        self.assertEqual(rules, [])
        self.assertEqual(values, {"Count": "2", "Zone": "UTC", "Rate": "off", "Origins": ["https://a.org", "https://b.org"]})

    def test_each_constraint_refuses_as_cloudformation_does(self) -> None:
        self.assertEqual(self.resolve({"Count": "9"})[1], ["parameter-max-value"])
        self.assertEqual(self.resolve({"Count": "0"})[1], ["parameter-min-value"])
        self.assertEqual(self.resolve({"Count": "many"})[1], ["parameter-number"])
        self.assertEqual(self.resolve({"Zone": "Mars/Olympus"})[1], ["parameter-allowed-values"])
        self.assertEqual(self.resolve({"Rate": "10/"})[1], ["parameter-allowed-pattern"])
        self.assertEqual(self.resolve({"Typo": "1"})[1], ["parameter-unknown"])


class Intrinsics(unittest.TestCase):
    def context(self) -> intrinsics.Context:
        attributes = {("Queue", "Arn"): "arn:aws:sqs:r:1:q", ("Queue", "QueueName"): "q"}
        return intrinsics.Context(
            {"Stage": "prod", "Origins": ["a", "b"]},
            {"AWS::Region": "eu-west-1", "AWS::AccountId": "1"},
            {"IsProd": True},
            ref=lambda name: f"physical-{name}",
            getatt=lambda name, attribute: attributes[(name, attribute)],
        )

    def test_sub_ref_getatt_if_and_no_value(self) -> None:
        value = {
            "A": {"Fn::Sub": "x-${AWS::Region}-${Stage}-${Queue.QueueName}-${!Literal}"},
            "B": {"Fn::Sub": ["${X}/${Table}", {"X": {"Fn::GetAtt": ["Queue", "Arn"]}}]},
            "C": {"Fn::If": ["IsProd", {"Ref": "AWS::NoValue"}, "kept"]},
            "D": {"Fn::Join": [",", {"Ref": "Origins"}]},
            "E": [{"Ref": "AWS::NoValue"}, {"Fn::Select": [1, {"Fn::Split": ["/", "p/q"]}]}],
        }
        self.assertEqual(
            intrinsics.resolve(value, self.context()),
            {"A": "x-eu-west-1-prod-q-${Literal}", "B": "arn:aws:sqs:r:1:q/physical-Table", "D": "a,b", "E": ["q"]},
        )

    def test_unknown_functions_are_refused(self) -> None:
        with self.assertRaises(intrinsics.Unsupported):
            intrinsics.resolve({"Fn::FindInMap": ["M", "a", "b"]}, self.context())

    def test_conditions_may_use_conditions(self) -> None:
        template = {"Conditions": {"Both": {"Fn::And": [{"Condition": "IsProd"}, {"Condition": "IsProd"}]}, "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}}}
        context = intrinsics.Context({"Stage": "prod"}, {})
        self.assertEqual(intrinsics.evaluate_conditions(template, context), {"IsProd": True, "Both": True})

    def test_references_and_substitution(self) -> None:
        value = {"A": {"Ref": "Api"}, "B": {"Fn::Sub": "${Api}/x/${Fn.Arn}/${Stage}"}}
        self.assertEqual(intrinsics.references(value, {"Stage"}), {("Api", None), ("Fn", "Arn")})
        substituted = intrinsics.substitute(value, {"Api": {None: "abc123"}})
        self.assertEqual(substituted, {"A": "abc123", "B": {"Fn::Sub": "abc123/x/${Fn.Arn}/${Stage}"}})


class Strictness(unittest.TestCase):
    def test_an_unknown_type_property_and_sub_property_are_findings(self) -> None:
        template = {
            "Resources": {
                "Q": {"Type": "AWS::SQS::Queue", "Properties": {"FifoQueue": True, "KmsMasterKeyId": "k"}},
                "R": {"Type": "AWS::Events::Rule", "Properties": {}},
                "T": {"Type": "AWS::DynamoDB::Table", "Properties": {"TimeToLiveSpecification": {"AttributeName": "e", "Enabled": True, "Extra": 1}}},
            }
        }
        findings = Findings()
        deploy.check_strict(template, findings)
        self.assertEqual(
            sorted((f.rule, f.resource) for f in findings),
            [("strict-property", "Q"), ("strict-property", "T"), ("strict-resource-type", "R")],
        )

    def test_every_carried_property_says_how(self) -> None:
        for kind, carrier in deploy.CARRY.items():
            for name, prop in carrier.props.items():
                self.assertIn(prop.carry, (deploy.MOTO, deploy.ADAPTER, deploy.RECORD, deploy.NOT_CARRIED), f"{kind}.{name}")
                if prop.carry == deploy.NOT_CARRIED:
                    self.assertTrue(prop.why, f"{kind}.{name} is not carried without a reason")

    def test_cloudformation_like_names(self) -> None:
        name = deploy.cloudformation_name("douyin-serverless", "ChatQueue", limit=80, suffix=".fifo")
        self.assertRegex(name, r"^douyin-serverless-ChatQueue-[A-Z0-9]{12}\.fifo$")
        self.assertEqual(name, deploy.cloudformation_name("douyin-serverless", "ChatQueue", limit=80, suffix=".fifo"))
        self.assertLessEqual(len(deploy.cloudformation_name("s" * 90, "L" * 90, limit=80, suffix=".fifo")), 80)


class Routes(unittest.TestCase):
    ROUTES = {
        "GET /douyin/feed": {"id": "feed"},
        "ANY /douyin/feed": {"id": "any"},
        "GET /douyin/{proxy+}": {"id": "greedy"},
        "$default": {"id": "default"},
    }

    def test_a_method_route_before_any_before_greedy(self) -> None:
        self.assertEqual(checks.route_for(self.ROUTES, "GET", "/douyin/feed")[0], "GET /douyin/feed")
        self.assertEqual(checks.route_for(self.ROUTES, "POST", "/douyin/feed")[0], "ANY /douyin/feed")
        self.assertEqual(checks.route_for(self.ROUTES, "GET", "/douyin/user")[0], "GET /douyin/{proxy+}")
        self.assertIsNone(checks.route_for(self.ROUTES, "GET", "/other"))

    def test_trailing_slash_keys_are_dropped_at_import(self) -> None:
        self.assertTrue(checks._dropped_at_import("GET /douyin/feed/"))
        self.assertFalse(checks._dropped_at_import("GET /douyin/feed"))
        self.assertFalse(checks._dropped_at_import("GET /"))
        self.assertFalse(checks._dropped_at_import("$default"))


class Timeouts(unittest.TestCase):
    def test_worst_call_is_the_operation_timeout_when_attempts_add_up_to_more(self) -> None:
        sdk = {
            "attempt_timeout_s": 5.0,
            "operation_timeout_s": 15.0,
            "retry": {"max_attempts": 3, "initial_backoff_s": 1.0, "max_backoff_s": 20.0},
            "dynamodb_retry": {"max_attempts": 4, "initial_backoff_s": 0.05, "max_backoff_s": 1.0},
        }
        self.assertEqual(checks.worst_call_seconds(sdk)[0], 15.0)
        sdk["operation_timeout_s"] = 60.0
        # 4 × 5 s + 50 + 100 + 200 ms of backoff.
        self.assertAlmostEqual(checks.worst_call_seconds(sdk)[0], 20.35)


class MediaShapes(unittest.TestCase):
    """CloudFormation's shapes of the media resources in S3's and CloudFront's API shapes."""

    def test_lifecycle_rules_as_s3_takes_them_and_unknown_keys_refused(self) -> None:
        rules = deploy.lifecycle_rules([
            {"Id": "a", "Status": "Enabled", "Prefix": "uploads/", "TagFilters": [{"Key": "k", "Value": "v"}], "ExpirationInDays": "1"},
            {"Id": "b", "Status": "Enabled", "Prefix": "uploads/", "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
        ])
        self.assertEqual(rules[0], {
            "ID": "a", "Status": "Enabled", "Expiration": {"Days": 1},
            "Filter": {"And": {"Prefix": "uploads/", "Tags": [{"Key": "k", "Value": "v"}]}},
        })
        self.assertEqual(rules[1]["Filter"], {"Prefix": "uploads/"})
        self.assertEqual(rules[1]["AbortIncompleteMultipartUpload"], {"DaysAfterInitiation": 1})
        with self.assertRaisesRegex(ValueError, "NoncurrentVersionExpirationInDays"):
            deploy.lifecycle_rules([{"Id": "c", "Status": "Enabled", "NoncurrentVersionExpirationInDays": 3}])

    def test_lifecycle_matching_needs_prefix_and_every_tag(self) -> None:
        rule = {"Filter": {"And": {"Prefix": "uploads/", "Tags": [{"Key": "douyin", "Value": "upload"}]}}}
        self.assertTrue(checks._lifecycle_matches(rule, "uploads/1", {"douyin": "upload"}))
        self.assertFalse(checks._lifecycle_matches(rule, "uploads/1", {}))
        self.assertFalse(checks._lifecycle_matches(rule, "videos/1", {"douyin": "upload"}))
        self.assertTrue(checks._lifecycle_matches({"Filter": {"Prefix": ""}}, "videos/1", {}))

    def test_distribution_config_in_api_shape_and_unknown_keys_refused(self) -> None:
        config = deploy.cloudfront_distribution_config(
            {
                "Enabled": "true",
                "IPV6Enabled": True,
                "Origins": [{"Id": "media", "DomainName": "b.s3.r.amazonaws.com", "OriginAccessControlId": "X", "S3OriginConfig": {"OriginAccessIdentity": ""}}],
                "DefaultCacheBehavior": {"TargetOriginId": "media", "ViewerProtocolPolicy": "redirect-to-https", "AllowedMethods": ["GET", "HEAD"], "CachedMethods": ["GET", "HEAD"], "CachePolicyId": "p", "Compress": "false"},
            },
            caller_reference="ref",
        )
        self.assertIs(config["Enabled"], True)
        self.assertIs(config["IsIPV6Enabled"], True)
        self.assertEqual(config["Origins"]["Quantity"], 1)
        self.assertEqual(config["Origins"]["Items"][0]["OriginAccessControlId"], "X")
        self.assertEqual(config["DefaultCacheBehavior"]["AllowedMethods"]["CachedMethods"], {"Quantity": 2, "Items": ["GET", "HEAD"]})
        self.assertIs(config["DefaultCacheBehavior"]["Compress"], False)
        with self.assertRaisesRegex(intrinsics.Unsupported, "FunctionAssociations"):
            deploy.cloudfront_distribution_config(
                {"Origins": [], "DefaultCacheBehavior": {"TargetOriginId": "m", "ViewerProtocolPolicy": "allow-all", "FunctionAssociations": []}},
                caller_reference="ref",
            )


class LanguageExtensions(unittest.TestCase):
    """Fn::ForEach as CloudFormation's AWS::LanguageExtensions expands it (before the SAM transform)."""

    TRANSFORMS = ["AWS::LanguageExtensions", "AWS::Serverless-2016-10-31"]

    def expand(self, template: dict, parameters: dict | None = None) -> tuple[dict | None, list[str]]:
        findings = Findings()
        result = language_extensions.expand(template, parameters or {}, findings)
        return result, [f.rule for f in findings]

    def test_keys_strings_refs_and_ampersand_are_substituted(self) -> None:
        template = {
            "Transform": self.TRANSFORMS,
            "Resources": {
                "Fn::ForEach::Logs": [
                    "Name",
                    ["Feed", "User-Info"],
                    {
                        "&{Name}LogGroup": {
                            "Type": "AWS::Logs::LogGroup",
                            "Properties": {
                                "LogGroupName": {"Fn::Sub": "/aws/lambda/${&{Name}Function}"},
                                "Tags": [{"Key": "name", "Value": {"Ref": "Name"}}, {"Key": "raw", "Value": "${Name}"}],
                                "Other": {"Ref": "Other"},
                            },
                        }
                    },
                ],
                "Kept": {"Type": "AWS::SNS::Topic"},
            },
        }
        result, rules = self.expand(template)
        self.assertEqual(rules, [])
        assert result is not None
        self.assertEqual(result["Transform"], "AWS::Serverless-2016-10-31")
        self.assertEqual(list(result["Resources"]), ["FeedLogGroup", "UserInfoLogGroup", "Kept"])
        properties = result["Resources"]["UserInfoLogGroup"]["Properties"]
        self.assertEqual(properties["LogGroupName"], {"Fn::Sub": "/aws/lambda/${UserInfoFunction}"})
        self.assertEqual(properties["Tags"], [{"Key": "name", "Value": "User-Info"}, {"Key": "raw", "Value": "User-Info"}])
        self.assertEqual(properties["Other"], {"Ref": "Other"})
        self.assertIn("Fn::ForEach::Logs", template["Resources"], "the input is not changed")

    def test_nested_loops_outputs_conditions_properties_and_list_parameters(self) -> None:
        template = {
            "Transform": self.TRANSFORMS,
            "Parameters": {"Zones": {"Type": "CommaDelimitedList"}},
            "Conditions": {"Fn::ForEach::Is": ["Z", {"Ref": "Zones"}, {"Is${Z}": {"Fn::Equals": ["${Z}", "a"]}}]},
            "Resources": {
                "Fn::ForEach::Outer": [
                    "A",
                    ["x", "y"],
                    {"Fn::ForEach::Inner": ["B", ["1", 2], {"R${A}${B}": {"Type": "T", "Properties": {"N": {"Fn::Length": ["${A}", "${B}"]}}}}]},
                ],
                "Bag": {"Type": "T", "Properties": {"Map": {"Fn::ForEach::Keys": ["K", ["p", "q"], {"${K}": {"Ref": "K"}}]}}},
            },
            "Outputs": {"Fn::ForEach::Out": ["O", ["m"], {"${O}Out": {"Value": {"Fn::Sub": "${O}"}}}]},
        }
        result, rules = self.expand(template, {"Zones": ["a", "b"]})
        self.assertEqual(rules, [])
        assert result is not None
        self.assertEqual(list(result["Conditions"]), ["Isa", "Isb"])
        self.assertEqual(sorted(result["Resources"]), ["Bag", "Rx1", "Rx2", "Ry1", "Ry2"])
        self.assertEqual(result["Resources"]["Ry2"]["Properties"]["N"], 2)
        self.assertEqual(result["Resources"]["Bag"]["Properties"]["Map"], {"p": "p", "q": "q"})
        self.assertEqual(result["Outputs"], {"mOut": {"Value": {"Fn::Sub": "m"}}})

    def test_what_cloudformation_refuses_is_a_finding(self) -> None:
        def loop(name: str, items: object, fragment: dict) -> dict:
            return {"Transform": self.TRANSFORMS, "Parameters": {"P": {"Type": "String"}}, "Resources": {name: ["N", items, fragment]}}

        body = {"R${N}": {"Type": "T"}}
        cases = {
            "duplicate key": (loop("Fn::ForEach::L", ["a", "a"], body), "language-extensions"),
            "key without the identifier": (loop("Fn::ForEach::L", ["a", "b"], {"R": {"Type": "T"}}), "language-extensions"),
            "clash with a resource": (
                {"Transform": self.TRANSFORMS, "Resources": {"Ra": {"Type": "T"}, "Fn::ForEach::L": ["N", ["a"], body]}},
                "language-extensions",
            ),
            "identifier is a parameter": (
                {"Transform": self.TRANSFORMS, "Parameters": {"N": {"Type": "String"}}, "Resources": {"Fn::ForEach::L": ["N", ["a"], body]}},
                "language-extensions",
            ),
            "not three parts": ({"Transform": self.TRANSFORMS, "Resources": {"Fn::ForEach::L": ["N", ["a"]]}}, "language-extensions"),
            "collection from a string parameter": (loop("Fn::ForEach::L", {"Ref": "P"}, body), "language-extensions-unsupported"),
            "collection from another function": (
                loop("Fn::ForEach::L", {"Fn::Split": [",", "a,b"]}, body),
                "language-extensions-unsupported",
            ),
            "ToJsonString": (loop("Fn::ForEach::L", ["a"], {"R${N}": {"Type": "T", "Properties": {"J": {"Fn::ToJsonString": {}}}}}), "language-extensions-unsupported"),
            "FindInMap DefaultValue": (
                loop("Fn::ForEach::L", ["a"], {"R${N}": {"Type": "T", "Properties": {"M": {"Fn::FindInMap": ["M", "a", "b", {"DefaultValue": "c"}]}}}}),
                "language-extensions-unsupported",
            ),
            "loop in Parameters": (
                {"Transform": self.TRANSFORMS, "Parameters": {"Fn::ForEach::L": ["N", ["a"], {"P${N}": {"Type": "String"}}]}, "Resources": {}},
                "language-extensions",
            ),
            "transform not listed": ({"Transform": "AWS::Serverless-2016-10-31", "Resources": {"Fn::ForEach::L": ["N", ["a"], body]}}, "language-extensions-missing"),
            "transforms in the wrong order": (
                {"Transform": list(reversed(self.TRANSFORMS)), "Resources": {"Fn::ForEach::L": ["N", ["a"], body]}},
                "language-extensions-order",
            ),
        }
        for case, (template, rule) in cases.items():
            with self.subTest(case):
                result, rules = self.expand(template, {"P": "x"})
                self.assertIsNone(result)
                self.assertEqual(rules, [rule])

    def test_samconfig_language_extensions_is_read_from_build_over_global(self) -> None:
        import tempfile
        from pathlib import Path

        text = (
            '[a.global.parameters]\nstack_name = "s"\nlanguage_extensions = true\n'
            '[a.deploy.parameters]\nregion = "us-east-1"\n'
            '[b.global.parameters]\nstack_name = "s"\nlanguage_extensions = true\n'
            '[b.build.parameters]\nlanguage_extensions = false\n[b.deploy.parameters]\nregion = "us-east-1"\n'
            '[c.global.parameters]\nstack_name = "s"\n[c.deploy.parameters]\nregion = "us-east-1"\n'
        )
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "samconfig.toml"
            path.write_text(text)
            found = {name: translate.load_environment(path, name, Findings()).language_extensions for name in "abc"}
        self.assertEqual(found, {"a": True, "b": False, "c": False})

    def test_a_template_without_the_transform_or_loops_is_unchanged(self) -> None:
        template = {"Transform": "AWS::Serverless-2016-10-31", "Resources": {"A": {"Type": "T", "Properties": {"X": "${N}"}}}}
        result, rules = self.expand(template)
        self.assertEqual(rules, [])
        self.assertIs(result, template)

    def test_the_template_expands_to_what_it_wrote_out_before(self) -> None:
        """template.yaml's loops make one log group and one Errors alarm per function, and a
        Duration alarm per API function (PublishAction's is written out), under their old ids."""
        template = translate.load_template(translate.Path(__file__).resolve().parents[2] / "template.yaml")
        result, rules = self.expand(template)
        self.assertEqual(rules, [])
        assert result is not None
        resources = result["Resources"]
        functions = [key[: -len("Function")] for key, value in resources.items() if value.get("Type") == "AWS::Serverless::Function"]
        self.assertEqual(len(functions), 21)
        for name in functions:
            self.assertEqual(resources[f"{name}LogGroup"]["Properties"]["LogGroupName"], {"Fn::Sub": f"/aws/lambda/${{{name}Function}}"})
            self.assertEqual(resources[f"{name}ErrorsAlarm"]["Properties"]["Dimensions"][0]["Value"], {"Fn::Sub": f"${{{name}Function}}"})
            api = any(event.get("Type") == "HttpApi" for event in (resources[f"{name}Function"]["Properties"].get("Events") or {}).values())
            self.assertEqual(f"{name}DurationAlarm" in resources, api, name)
        self.assertFalse(any(key.startswith("Fn::ForEach::") for key in resources))


class CompareDeployed(unittest.TestCase):
    """compare_deployed.py sets aside generated ids only."""

    @staticmethod
    def state(api_id: str, uuid: str, secret_suffix: str, retention: int) -> dict:
        return {
            "stack_id": f"arn:aws:cloudformation:us-east-1:1:stack/s/{uuid}",
            "http_apis": {"Api": {"id": api_id, "endpoint": f"https://{api_id}.execute-api.us-east-1.amazonaws.com"}},
            "functions": {"F": {"permissions": [{"source_arn": f"arn:aws:execute-api:us-east-1:1:{api_id}/*/*"}]}},
            "secrets": {"S": {"arn": f"arn:aws:secretsmanager:us-east-1:1:secret:JwtSecret-{secret_suffix}"}},
            "log_groups": {"/aws/lambda/f": {"retention_in_days": retention, "created": "2026-11-25T20:00:01.5Z"}},
        }

    def test_generated_ids_are_set_aside_and_nothing_else(self) -> None:
        import compare_deployed

        before = compare_deployed.normalise(self.state("abc123defg", "0f0f0f0f-1111-2222-3333-444455556666", "AbCdEf", 30))
        after = compare_deployed.normalise(self.state("zyx987wvut", "9a9a9a9a-1111-2222-3333-444455556666", "XyZ123", 30))
        self.assertEqual(before, after)
        self.assertEqual(before["http_apis"]["Api"]["endpoint"], "https://<http_apis.Api.id>.execute-api.us-east-1.amazonaws.com")
        changed = compare_deployed.normalise(self.state("zyx987wvut", "9a9a9a9a-1111-2222-3333-444455556666", "XyZ123", 7))
        self.assertNotEqual(before, changed)


if __name__ == "__main__":
    unittest.main()
