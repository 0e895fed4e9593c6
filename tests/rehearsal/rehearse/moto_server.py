"""moto's server, with AWS's managed policies limited to those the rehearsal knows.

    python -m rehearse.moto_server -H 127.0.0.1 -p PORT

moto can load AWS's managed policies (MOTO_IAM_LOAD_MANAGED_POLICIES=true) so
that roles can have them attached, but it parses all ~1,300 of them for every
IAM backend it makes, 2.5 s at each reset: most of a rehearsal's deploy time.
Here it loads only :data:`rehearse.managed_policies.POLICIES`, our pinned
documents, at their real ARNs; attaching any other AWS policy then fails in
stage 2, which is the strictness wanted (add it to managed_policies.py).

Its global CORS is off (MOTO_DISABLE_GLOBAL_CORS): S3 answers a browser by the
bucket's CorsConfiguration only, as S3 does.
"""

from __future__ import annotations

import json
import os
import sys

from . import managed_policies


def _data() -> str:
    data = {}
    for name, policy in managed_policies.POLICIES.items():
        path = policy["arn"].split(":policy", 1)[1][: -len(name)]
        data[name] = {
            "DefaultVersionId": policy.get("version", "v1"),
            "Path": path,
            "Document": policy["document"],
            "CreateDate": "2015-04-09T15:03:43+00:00",
            "UpdateDate": "2015-04-09T15:03:43+00:00",
        }
    return json.dumps(data)


def main() -> None:
    os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"
    # moto's server adds permissive CORS headers to every answer (flask-cors) unless told
    # not to: then S3 answers browsers by the bucket's own CORS configuration, as deployed
    # (the web client's presigned PUT, its preflight included).
    os.environ["MOTO_DISABLE_GLOBAL_CORS"] = "true"
    import moto.iam.aws_managed_policies
    import moto.iam.models
    from moto.server import main as serve

    moto.iam.aws_managed_policies.aws_managed_policies_data = _data()
    moto.iam.models.aws_managed_policies_data = _data()
    # moto imports a service's code on its first request (seconds for CloudFormation, which
    # imports every backend): done here, before the port opens, so the first deploy is not slower.
    import moto.backends
    import moto.cloudformation.parsing  # noqa: F401

    for service in ("apigatewayv2", "cloudwatch", "dynamodb", "iam", "lambda", "logs", "s3", "secretsmanager", "sns", "sqs"):
        moto.backends.get_backend(service)
    serve(sys.argv[1:])


if __name__ == "__main__":
    main()
