"""The AWS managed policies SAM references, offline: name → ARN for the
translator (what the service's transform looks up in IAM), and each one's
document, which stage 2 compares with moto's copy and stage 5 evaluates.

Documents as AWS publishes them (the default versions: AWSLambdaBasicExecutionRole
v1, AWSXrayWriteOnlyAccess v2, AWSLambdaSQSQueueExecutionRole v1). SAM adds the
first two to every function role of this template (the second because of
`Tracing: Active`), the third to a function with an SQS event. Add a policy here
when the template starts using one; stage 2 fails on an attached ARN this map
does not know.
"""

from __future__ import annotations

from typing import Any

_LOGS = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]

POLICIES: dict[str, dict[str, Any]] = {
    "AWSLambdaBasicExecutionRole": {
        "arn": "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
        "document": {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": list(_LOGS), "Resource": "*"}],
        },
    },
    "AWSXrayWriteOnlyAccess": {
        "arn": "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
        "document": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": [
                        "xray:PutTraceSegments",
                        "xray:PutTelemetryRecords",
                        "xray:GetSamplingRules",
                        "xray:GetSamplingTargets",
                        "xray:GetSamplingStatisticSummaries",
                    ],
                    "Resource": ["*"],
                }
            ],
        },
    },
    "AWSLambdaSQSQueueExecutionRole": {
        "arn": "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
        "document": {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", *_LOGS],
                    "Resource": "*",
                }
            ],
        },
    },
}

BY_ARN: dict[str, dict[str, Any]] = {policy["arn"]: policy["document"] for policy in POLICIES.values()}


def policy_arns() -> dict[str, str]:
    """Name → ARN, the map the SAM translator asks its managed-policy loader for."""
    return {name: policy["arn"] for name, policy in POLICIES.items()}
