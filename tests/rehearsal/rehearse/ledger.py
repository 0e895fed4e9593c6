"""The adapter's ledger: what stage 2 created or kept outside moto's
CloudFormation, stored in moto itself (an object beside the artifacts in the
SAM-managed bucket, as `sam deploy` stores the packaged template there), so
that :func:`rehearse.deployed.read_deployed` needs nothing but the endpoint and
the stack name.

Shape::

    {
      "stack_name": str, "region": str, "account": str,
      "artifact_bucket": str,
      "resources": {logical_id: {"type": str, "physical_id": str, "carried_by": "adapter"}},
      "bucket_policies": {bucket_name: policy document},   # kept on record, not put into moto
      "not_carried": {logical_id: {property: why}},         # what only a real deploy shows
    }
"""

from __future__ import annotations

import hashlib
import json
from typing import Any


def artifact_bucket(account: str, region: str) -> str:
    """The bucket `resolve_s3 = true` makes SAM CLI create (its managed stack's)."""
    digest = hashlib.sha256((account + region).encode()).hexdigest()[:12]
    return f"aws-sam-cli-managed-default-samclisourcebucket-{digest}"


def key(stack_name: str) -> str:
    return f"{stack_name}/rehearsal-ledger.json"


def write(s3: Any, bucket: str, stack_name: str, ledger: dict[str, Any]) -> None:
    s3.put_object(Bucket=bucket, Key=key(stack_name), Body=json.dumps(ledger, indent=1, sort_keys=True).encode())


def read(s3: Any, account: str, region: str, stack_name: str) -> dict[str, Any]:
    """The ledger, or an empty one when the stack was not deployed by the rehearsal."""
    try:
        body = s3.get_object(Bucket=artifact_bucket(account, region), Key=key(stack_name))["Body"].read()
    except Exception:  # noqa: BLE001 (no bucket or no object: a stack deployed otherwise)
        return {"resources": {}, "bucket_policies": {}, "not_carried": {}}
    return json.loads(body)
