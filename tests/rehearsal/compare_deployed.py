"""Compares two dumps of the deployed state (`tests/rehearsal/run --dump-deployed DIR`), environment by
environment, once what the emulator generates anew on every deployment is set aside. For a change of
template.yaml that must change nothing deployed (a restructuring):

    tests/rehearsal/run --stages 1-3 --dump-deployed /tmp/before        # on the old template
    tests/rehearsal/run --stages 1-3 --dump-deployed /tmp/after         # on the new one
    python3 tests/rehearsal/compare_deployed.py /tmp/before /tmp/after  # exit 0: identical

What it sets aside, and nothing else:

- the values of the keys in GENERATED_KEYS (ids the services make up: the HTTP API's, its routes'
  and integrations', the distribution's and its domain name, the origin access control's, event
  source mappings' UUIDs, the stack's id), each replaced by the path where it was found (`<http_apis.Api.id>`), and the same
  value wherever else it appears inside a string (an endpoint URL, a source ARN, the dashboard's
  body) replaced the same way;
- every UUID, wherever it appears, as `<uuid>`;
- the random twelve-character suffix (capitals and digits, at least one capital) CloudFormation
  gives the names it makes (`douyin-serverless-AlarmTopic-5K77Q0D68RCN`), as `-<random12>`: the name before it (stack,
  logical id) still counts;
- Secrets Manager's random six-character ARN suffix (`secret:name-AbCdEf`);
- timestamps: ISO 8601 ones anywhere, and the values of TIME_KEYS (SQS's epoch seconds), as `<time>`;
- the order of the keys of an object (the dumps are written with sorted keys anyway).

Everything else (names, logical ids, ARNs built from names, policies, environments, settings, tags)
must be equal. Differences are printed as a unified diff of the normalised JSON, per environment.
"""

from __future__ import annotations

import difflib
import json
import re
import sys
from pathlib import Path
from typing import Any

# Keys whose values the emulated services generate on each deployment.
GENERATED_KEYS = {"id", "route_id", "integration_id", "uuid", "stack_id", "caller_reference", "etag", "domain_name"}
# Keys whose values are the time of the deployment.
TIME_KEYS = {"CreatedTimestamp", "LastModifiedTimestamp"}
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)
# At least one letter: an account id (twelve digits) is not random.
_NAME_SUFFIX = re.compile(r"-(?=[A-Z0-9]*[A-Z])[A-Z0-9]{12}(?![A-Za-z0-9])")
_SECRET_SUFFIX = re.compile(r"(:secret:[A-Za-z0-9/_+=.@-]+?)-[A-Za-z0-9]{6}\b")
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?")


def _generated(value: Any, path: str, found: dict[str, str]) -> None:
    """Collects {generated value: placeholder} from the GENERATED_KEYS fields, in a stable order."""
    if isinstance(value, dict):
        for key in sorted(value):
            inner = value[key]
            where = f"{path}.{key}" if path else str(key)
            if key in GENERATED_KEYS and isinstance(inner, str) and len(inner) >= 4 and inner not in found:
                found[inner] = f"<{where}>"
            _generated(inner, where, found)
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            _generated(inner, f"{path}[{index}]", found)


def normalise(state: Any) -> Any:
    found: dict[str, str] = {}
    _generated(state, "", found)
    # Longest first, so that an id inside a longer one is not replaced first.
    replacements = sorted(found.items(), key=lambda item: -len(item[0]))

    def text(value: str) -> str:
        for generated, placeholder in replacements:
            value = value.replace(generated, placeholder)
        value = _UUID.sub("<uuid>", value)
        value = _SECRET_SUFFIX.sub(r"\1-<random6>", value)
        value = _NAME_SUFFIX.sub("-<random12>", value)
        return _TIME.sub("<time>", value)

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {text(str(key)): "<time>" if key in TIME_KEYS else walk(inner) for key, inner in value.items()}
        if isinstance(value, list):
            return [walk(inner) for inner in value]
        if isinstance(value, str):
            return text(value)
        return value

    return walk(state)


def compare(before: Path, after: Path) -> list[str]:
    """The differences (unified diff lines) between two dump folders; empty when equal."""
    lines: list[str] = []
    names = sorted({path.name for path in before.glob("*.json")} | {path.name for path in after.glob("*.json")})
    if not names:
        lines.append(f"no dumps (*.json) in {before} or {after}")
    for name in names:
        old, new = before / name, after / name
        if not old.exists() or not new.exists():
            lines.append(f"{name}: only in {after if new.exists() else before}")
            continue
        left = json.dumps(normalise(json.loads(old.read_text())), indent=1, sort_keys=True).splitlines()
        right = json.dumps(normalise(json.loads(new.read_text())), indent=1, sort_keys=True).splitlines()
        lines.extend(difflib.unified_diff(left, right, f"{old}", f"{new}", lineterm="", n=3))
    return lines


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    differences = compare(Path(argv[0]), Path(argv[1]))
    for line in differences:
        print(line)
    if differences:
        print(f"compare_deployed: the deployed states differ ({argv[0]} vs {argv[1]})", file=sys.stderr)
        return 1
    print(f"compare_deployed: identical once generated ids are set aside ({argv[0]} vs {argv[1]})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
