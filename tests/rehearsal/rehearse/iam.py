"""Least privilege from observed calls (stage 5).

moto cannot enforce IAM (it denies correctly scoped policies), so the
rehearsal records every call each function makes (calls.py, by the access key
of the function's own role) and evaluates it here, offline, against that
role's deployed policies: identity policies (inline and managed), and the
bucket policy for S3. A call no policy allows is a failure; a granted action
that no call used is reported.

The evaluation follows IAM's logic for one account: an explicit Deny wins,
then any Allow, else the implicit deny. Supported: Action/NotAction,
Resource/NotResource with `*` and `?` wildcards, and the condition operators
our policies use (String*, Arn*, Bool, with ForAllValues:/ForAnyValue: and
...IfExists). Any other operator is an error, never a silent pass.
"""

import fnmatch
import re


class PolicyError(Exception):
    """A policy the evaluator does not understand."""


def _list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _wildcard(pattern, value, case_sensitive=True):
    """IAM's glob: `*` any run, `?` one character; nothing else is special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    flags = 0 if case_sensitive else re.IGNORECASE
    return re.fullmatch(regex, value, flags) is not None


def _action_matches(patterns, action):
    # Actions are case-insensitive in IAM.
    return any(_wildcard(pattern, action, case_sensitive=False) for pattern in patterns)


def _resource_matches(patterns, resource):
    return any(_wildcard(pattern, resource) for pattern in patterns)


STRING_TESTS = {
    "StringEquals": lambda policy, value: policy == value,
    "StringNotEquals": lambda policy, value: policy != value,
    "StringEqualsIgnoreCase": lambda policy, value: policy.lower() == value.lower(),
    "StringLike": lambda policy, value: _wildcard(policy, value),
    "StringNotLike": lambda policy, value: not _wildcard(policy, value),
    "ArnEquals": lambda policy, value: policy == value,
    "ArnLike": lambda policy, value: _wildcard(policy, value),
    "ArnNotEquals": lambda policy, value: policy != value,
    "ArnNotLike": lambda policy, value: not _wildcard(policy, value),
    "Bool": lambda policy, value: str(policy).lower() == str(value).lower(),
}
NEGATED = {"StringNotEquals", "StringNotLike", "ArnNotEquals", "ArnNotLike"}


def _condition_holds(operator, key, expected, context):
    """One condition (operator, key, values) against the request context."""
    qualifier = ""
    if ":" in operator and operator.split(":")[0] in ("ForAllValues", "ForAnyValue"):
        qualifier, operator = operator.split(":", 1)
    if_exists = operator.endswith("IfExists")
    if if_exists:
        operator = operator[: -len("IfExists")]
    test = STRING_TESTS.get(operator)
    if test is None:
        raise PolicyError(f"condition operator {operator!r} is not supported by the rehearsal's evaluator")
    expected = [str(value) for value in _list(expected)]
    # Condition key names are case-insensitive in IAM (values are not): `AWS:SourceArn` is `aws:SourceArn`.
    context = {name.lower(): value for name, value in context.items()}
    key = key.lower()
    present = key in context
    values = [str(value) for value in _list(context.get(key))]
    if not present:
        if if_exists or qualifier == "ForAllValues":
            # ForAllValues over an empty set is true (IAM's documented trap).
            return True
        return operator in NEGATED
    if qualifier == "ForAllValues":
        return all(any(test(e, v) for e in expected) for v in values)
    if qualifier == "ForAnyValue":
        return any(any(test(e, v) for e in expected) for v in values)
    if operator in NEGATED:
        return all(all(test(e, v) for e in expected) for v in values)
    return any(any(test(e, v) for e in expected) for v in values)


def _conditions_hold(block, context):
    for operator, tests in (block or {}).items():
        for key, expected in tests.items():
            if not _condition_holds(operator, key, expected, context):
                return False
    return True


def statement_applies(statement, action, resource, context):
    """Whether `statement` covers (action, resource) in `context`."""
    if "Action" in statement:
        if not _action_matches(_list(statement["Action"]), action):
            return False
    elif "NotAction" in statement:
        if _action_matches(_list(statement["NotAction"]), action):
            return False
    else:
        raise PolicyError(f"statement without Action: {statement}")
    if "Resource" in statement:
        if not _resource_matches(_list(statement["Resource"]), resource):
            return False
    elif "NotResource" in statement:
        if _resource_matches(_list(statement["NotResource"]), resource):
            return False
    return _conditions_hold(statement.get("Condition"), context)


def decide(statements, action, resource, context):
    """'Deny', 'Allow' or None (no statement applies), and the statement's Sid."""
    allowed = None
    for statement in statements:
        if statement_applies(statement, action, resource, context):
            if statement.get("Effect") == "Deny":
                return "Deny", statement.get("Sid", "")
            allowed = allowed or ("Allow", statement.get("Sid", ""))
    return allowed or (None, "")


def statements_of(documents):
    """Every statement of a list of policy documents."""
    out = []
    for document in documents:
        out.extend(_list(document.get("Statement")))
    return out


def resource_policy_applies(statement, principal_arn):
    """Whether a bucket-policy statement names this principal (or everyone)."""
    principal = statement.get("Principal")
    if principal == "*" or principal == {"AWS": "*"}:
        return True
    if isinstance(principal, dict):
        return any(_wildcard(p, principal_arn) for p in _list(principal.get("AWS")))
    return False


def evaluate(need, identity_statements, bucket_statements, principal_arn, context):
    """Allowed?, and why, for one authorisation. Same account: the identity
    policy or the resource policy may allow; any explicit Deny denies."""
    context = dict(context)
    context.update(need.context)
    verdict, sid = decide(identity_statements, need.action, need.resource, context)
    if verdict == "Deny":
        return False, f"denied by the role's statement {sid or '(no Sid)'}"
    resource_verdict = None
    for statement in bucket_statements:
        if resource_policy_applies(statement, principal_arn) and statement_applies(
            statement, need.action, need.resource, context
        ):
            if statement.get("Effect") == "Deny":
                return False, f"denied by the bucket policy's statement {statement.get('Sid', '')}"
            resource_verdict = "Allow"
    if verdict == "Allow" or resource_verdict == "Allow":
        return True, sid
    return False, "no statement of the role allows it"


def granted(statements):
    """The (action, resource pattern, Sid) pairs that Allow statements grant,
    for the unused-grant report."""
    out = []
    for statement in statements:
        if statement.get("Effect") != "Allow" or "Action" not in statement:
            continue
        for action in _list(statement["Action"]):
            for resource in _list(statement.get("Resource", "*")):
                out.append((action, resource, statement.get("Sid", "")))
    return out


def used(grant, needs):
    """Whether any observed need falls under a grant (action, resource pattern)."""
    action, resource, _ = grant
    return any(
        _wildcard(action, need.action, case_sensitive=False) and _wildcard(resource, need.resource) for need in needs
    )


def matches_glob(pattern, value):
    """fnmatch-style helper for callers that filter names."""
    return fnmatch.fnmatchcase(value, pattern)
