"""schemathesis hooks of tests/fuzz-api: the contract's envelope as a check.

Loaded by schemathesis (`hooks` in the generated config); runs on every
response to every generated request. Only operations of docs/openapi.yaml are
called, so the S3 paths of douyin-local (which speak S3, not the envelope)
never reach it.
"""

import json

import schemathesis


@schemathesis.check
def envelope(ctx, response, case):
    """Every answer is JSON with an integer `status_code` and a string `status_msg`."""
    content_type = ";".join(response.headers.get("content-type", []))
    if content_type.replace(" ", "").lower() != "application/json;charset=utf-8":
        raise AssertionError(f"Content-Type is {content_type!r}, not 'application/json; charset=utf-8'")
    try:
        body = json.loads(response.content)
    except ValueError as error:
        raise AssertionError(f"body is not JSON: {error}") from None
    if not isinstance(body, dict):
        raise AssertionError(f"body is a JSON {type(body).__name__}, not an object")
    code, message = body.get("status_code"), body.get("status_msg")
    # bool is an int in Python; the contract's status_code is a JSON integer.
    if not isinstance(code, int) or isinstance(code, bool):
        raise AssertionError(f"status_code is {code!r}, not an integer")
    if not isinstance(message, str):
        raise AssertionError(f"status_msg is {message!r}, not a string")
    if response.request.method.upper() != case.operation.method.upper():
        # The coverage phase also sends the operation's path with other methods.
        expected = (405, 10001)
    else:
        expected = (200, code) if 0 <= code < 10008 else ({10008: 429, 50000: 500}.get(code), code)
    if (response.status_code, code) != expected:
        raise AssertionError(
            f"status_code {code} came with HTTP {response.status_code}; expected status_code {expected[1]} "
            f"with HTTP {expected[0]}"
        )
