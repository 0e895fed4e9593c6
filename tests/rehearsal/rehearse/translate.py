"""Stage 1: read template.yaml and samconfig.toml as SAM CLI does, and translate
the template as CloudFormation's `AWS::Serverless-2016-10-31` transform does.

What `sam build` + `sam deploy` do before CloudFormation sees the template, and
what this module does in their place:

- parse the YAML (aliases expanded, short-form tags such as `!Sub` turned into
  their `Fn::` forms): :func:`load_template`;
- read one environment of samconfig.toml (`global` and `deploy` sections) and
  its `parameter_overrides` with SAM CLI's grammar: :func:`load_environment`,
  :func:`parse_parameter_overrides`;
- give every parameter its value (overrides on top of defaults) and validate it
  as CloudFormation does at `CreateStack` (type, AllowedValues,
  AllowedPattern, lengths, Min/MaxValue): :func:`resolve_parameters`;
- replace each function's `CodeUri` by the S3 location of its built artifact
  (`sam build` + `sam deploy`'s packaging): :func:`package`; stage 2 uploads a
  placeholder zip there (stage 4 runs the real bootstraps itself);
- apply the `AWS::LanguageExtensions` transform first when the template
  lists it (`Fn::ForEach`, `Fn::Length`), as CloudFormation does before the
  SAM transform: :mod:`rehearse.language_extensions`;
- translate with the pinned `aws-sam-translator`, the code the service runs,
  given the parameter values as CloudFormation hands them to the transform
  (strings; `CommaDelimitedList` as lists), with an offline managed-policy map
  (:mod:`rehearse.managed_policies`): :func:`translate`.

Any problem is a stage-1 finding; the later stages do not run for that
environment.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import logging
import re
import tomllib
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, ScalarNode, SequenceNode

from .findings import Findings
from . import language_extensions, managed_policies
from .ledger import artifact_bucket

# --------------------------------------------------------------------- YAML


class _TemplateLoader(yaml.SafeLoader):
    """PyYAML's safe loader (as SAM CLI's yamlhelper) plus CloudFormation's short-form tags."""


def _intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    # `!Ref x` → {"Ref": x}; `!Condition c` → {"Condition": c}; `!Sub s` → {"Fn::Sub": s};
    # `!GetAtt A.B` → {"Fn::GetAtt": ["A", "B"]} (split at the first dot, as SAM CLI does).
    tag = node.tag[1:]
    key = tag if tag in ("Ref", "Condition") else f"Fn::{tag}"
    if tag == "GetAtt" and isinstance(node, ScalarNode):
        return {key: node.value.split(".", 1)}
    if isinstance(node, ScalarNode):
        return {key: loader.construct_scalar(node)}
    if isinstance(node, SequenceNode):
        return {key: loader.construct_sequence(node, deep=True)}
    if isinstance(node, MappingNode):
        return {key: loader.construct_mapping(node, deep=True)}
    raise yaml.constructor.ConstructorError(None, None, f"unexpected node for !{tag}", node.start_mark)


_TemplateLoader.add_multi_constructor("!", _intrinsic)


def load_template(path: Path) -> dict[str, Any]:
    """The template as SAM CLI reads it: YAML aliases expanded, short-form tags in long form."""
    with open(path, encoding="utf-8") as handle:
        document = yaml.load(handle, Loader=_TemplateLoader)  # noqa: S506 (a SafeLoader subclass)
    if not isinstance(document, dict):
        raise ValueError(f"{path}: not a YAML mapping")
    return document


# ---------------------------------------------------------------- samconfig


@dataclasses.dataclass
class Environment:
    """One samconfig.toml environment, as `sam deploy --config-env NAME` reads it."""

    name: str
    stack_name: str
    region: str
    parameter_overrides: dict[str, str]
    capabilities: list[str]
    # `language_extensions = true` for `sam build` ([name.build] over [name.global]): SAM CLI
    # 1.161+ expands Fn::ForEach locally only then, and fails on the loops otherwise.
    language_extensions: bool = False


def config_environments(path: Path) -> list[str]:
    """The environments samconfig.toml defines (every top-level table but `version`)."""
    with open(path, "rb") as handle:
        config = tomllib.load(handle)
    return [name for name, value in config.items() if isinstance(value, dict)]


def load_environment(path: Path, name: str, findings: Findings) -> Environment | None:
    """Environment `name` of samconfig.toml: `deploy` settings over `global` ones (SAM CLI's order)."""
    with open(path, "rb") as handle:
        config = tomllib.load(handle)
    env = config.get(name)
    if not isinstance(env, dict):
        findings.add(1, "samconfig-environment", name, f"samconfig.toml has no environment {name!r}")
        return None
    settings: dict[str, Any] = {}
    settings.update((env.get("global") or {}).get("parameters") or {})
    settings.update((env.get("deploy") or {}).get("parameters") or {})
    stack_name = settings.get("stack_name")
    region = settings.get("region")
    if not stack_name:
        findings.add(1, "samconfig-stack-name", name, "no stack_name (sam deploy would ask, or refuse with --no-confirm)")
    if not region:
        findings.add(1, "samconfig-region", name, "no region: sam deploy would take the caller's default region")
    raw = settings.get("parameter_overrides", "")
    if isinstance(raw, list):  # samconfig may hold a TOML array of "Key=Value" strings
        raw = " ".join(str(item) for item in raw)
    overrides, leftover = parse_parameter_overrides(str(raw))
    if leftover.strip():
        findings.add(
            1,
            "samconfig-parameter-overrides",
            name,
            f"parameter_overrides has text SAM CLI silently ignores: {leftover.strip()!r}",
        )
    capabilities = settings.get("capabilities", [])
    if isinstance(capabilities, str):
        capabilities = capabilities.split()
    if not stack_name or not region:
        return None
    build: dict[str, Any] = {}
    build.update((env.get("global") or {}).get("parameters") or {})
    build.update((env.get("build") or {}).get("parameters") or {})
    language = build.get("language_extensions") is True
    return Environment(name, str(stack_name), str(region), overrides, list(capabilities), language)


# SAM CLI's grammar for `--parameter-overrides` (samcli/cli/types.py,
# CfnParameterOverridesType), restated: pairs separated by spaces, either
# `ParameterKey=K,ParameterValue=V` or `K=V`; a key is [A-Za-z0-9"']+; a value
# is a double-quoted string, a single-quoted string (backslash escapes inside
# both), or a run of characters that are not spaces, quotes or backslashes, or
# are backslash-escaped. Wrapping quotes are then removed and `\ `, `\"`, `\'`
# unescaped. Anything the grammar does not match is skipped by SAM CLI without
# a word; here it is returned, and reported.
_KEY = r"""([A-Za-z0-9"']+)"""
_VALUE = r"""("(?:\\.|[^"\\]+)*"|'(?:\\.|[^'\\]+)*'|(?:\\.|[^ "\\]+)+)"""
_LONG_FORM = re.compile(rf"ParameterKey={_KEY},ParameterValue={_VALUE}")
_SHORT_FORM = re.compile(rf"(?: ){_KEY}={_VALUE}")


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return value.replace("\\ ", " ").replace('\\"', '"').replace("\\'", "'")


def parse_parameter_overrides(text: str) -> tuple[dict[str, str], str]:
    """`Key=Value Key2="a b"` → ({"Key": "Value", "Key2": "a b"}, text no pair matched)."""
    normalized = " " + text.strip()
    # SAM CLI uses the first form that matches anywhere, for the whole string.
    pattern = _LONG_FORM if _LONG_FORM.search(normalized) else _SHORT_FORM
    result: dict[str, str] = {}
    leftover: list[str] = []
    position = 0
    for match in pattern.finditer(normalized):
        leftover.append(normalized[position : match.start()])
        position = match.end()
        result[_unquote(match.group(1))] = _unquote(match.group(2))
    leftover.append(normalized[position:])
    unmatched = "".join(leftover).replace(",", " ") if pattern is _LONG_FORM else "".join(leftover)
    return result, unmatched


# --------------------------------------------------------------- parameters

LIST_TYPES = ("CommaDelimitedList", "List<Number>")
SCALAR_TYPES = ("String", "Number")


def resolve_parameters(
    template: dict[str, Any], overrides: dict[str, str], findings: Findings, where: str
) -> dict[str, str | list[str]]:
    """Every parameter's value as CloudFormation would have it at CreateStack, validated.

    Values are strings, lists of strings for the list types. Problems (an
    override for no parameter, a missing value, a value the parameter's
    constraints refuse) are stage-1 findings: CloudFormation refuses such a
    stack before creating anything (an unknown override is dropped by SAM CLI
    without a word, which hides typos: a finding here).
    """
    declared: dict[str, Any] = template.get("Parameters") or {}
    for key in overrides:
        if key not in declared:
            findings.add(1, "parameter-unknown", key, f"{where}: parameter_overrides sets {key}, which the template does not declare")
    values: dict[str, str | list[str]] = {}
    for name, spec in declared.items():
        kind = spec.get("Type")
        if kind not in SCALAR_TYPES + LIST_TYPES:
            findings.add(1, "parameter-type", name, f"type {kind!r} is not one the rehearsal knows how to validate")
            continue
        if name in overrides:
            raw: Any = overrides[name]
        elif "Default" in spec:
            raw = spec["Default"]
        else:
            findings.add(1, "parameter-missing", name, f"{where}: no value and no Default")
            continue
        if isinstance(raw, bool):
            raw = "true" if raw else "false"
        if kind in LIST_TYPES:
            items = raw if isinstance(raw, list) else [part.strip() for part in str(raw).split(",")]
            items = [str(item) for item in items]
            for item in items:
                _validate_scalar(name, spec, item, "Number" if kind == "List<Number>" else "String", findings, where)
            values[name] = items
        else:
            text = _number_text(raw) if isinstance(raw, (int, float)) else str(raw)
            _validate_scalar(name, spec, text, kind, findings, where)
            values[name] = text
    return values


def _number_text(value: int | float) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _validate_scalar(name: str, spec: dict[str, Any], value: str, kind: str, findings: Findings, where: str) -> None:
    def refuse(rule: str, why: str) -> None:
        findings.add(1, rule, name, f"{where}: {value!r} {why} (CloudFormation refuses the stack)")

    if kind == "Number":
        try:
            number = float(value)
        except ValueError:
            refuse("parameter-number", "is not a number")
            return
        if "MinValue" in spec and number < float(spec["MinValue"]):
            refuse("parameter-min-value", f"is below MinValue {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            refuse("parameter-max-value", f"is above MaxValue {spec['MaxValue']}")
    if "AllowedValues" in spec and value not in [_allowed_text(item) for item in spec["AllowedValues"]]:
        refuse("parameter-allowed-values", "is not one of its AllowedValues")
    if "AllowedPattern" in spec and re.fullmatch(spec["AllowedPattern"], value) is None:
        refuse("parameter-allowed-pattern", f"does not match AllowedPattern {spec['AllowedPattern']!r}")
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        refuse("parameter-min-length", f"is shorter than MinLength {spec['MinLength']}")
    if "MaxLength" in spec and len(value) > int(spec["MaxLength"]):
        refuse("parameter-max-length", f"is longer than MaxLength {spec['MaxLength']}")


def _allowed_text(item: Any) -> str:
    if isinstance(item, bool):
        return "true" if item else "false"
    if isinstance(item, (int, float)):
        return _number_text(item)
    return str(item)


# ---------------------------------------------------------------- packaging


@dataclasses.dataclass(frozen=True)
class Artifact:
    """One function's built artifact, as `sam deploy` uploads it."""

    logical_id: str
    binary: str
    bucket: str
    key: str


def package(template: dict[str, Any], stack_name: str, bucket: str, findings: Findings) -> list[Artifact]:
    """Replace each function's CodeUri by the S3 location of its artifact, as `sam deploy` does.

    A function must be built by `rust-cargolambda` with a `Binary` (that is
    what `sam build` runs for this project); anything else is a finding: the
    rehearsal would not know which bootstrap the function runs.
    """
    artifacts = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource.setdefault("Properties", {})
        metadata = resource.get("Metadata") or {}
        binary = (metadata.get("BuildProperties") or {}).get("Binary")
        if metadata.get("BuildMethod") != "rust-cargolambda" or not isinstance(binary, str) or not binary:
            findings.add(
                1,
                "function-build",
                logical_id,
                "needs Metadata BuildMethod: rust-cargolambda and BuildProperties.Binary (which bin `sam build` builds)",
            )
            continue
        for unsupported in ("InlineCode", "ImageUri", "PackageType"):
            if unsupported in properties:
                findings.add(1, "function-build", logical_id, f"{unsupported} is not how this project ships functions")
        key = f"{stack_name}/{hashlib.sha256(binary.encode()).hexdigest()[:32]}"
        properties["CodeUri"] = f"s3://{bucket}/{key}"
        artifacts.append(Artifact(logical_id, binary, bucket, key))
    return artifacts


# -------------------------------------------------------------- translation


@dataclasses.dataclass
class Translation:
    """Stage 1's result for one environment."""

    environment: Environment
    account: str
    sam_template: dict[str, Any]  # as parsed, CodeUri packaged
    template: dict[str, Any]  # the CloudFormation template the transform produced
    parameters: dict[str, str | list[str]]
    artifacts: list[Artifact]


def translate(
    template_path: Path, environment: Environment, account: str, findings: Findings
) -> Translation | None:
    """Stage 1 for one environment; None when it found problems."""
    from samtranslator.model.exceptions import InvalidDocumentException, InvalidResourceException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator
    import boto3

    logging.getLogger("samtranslator").setLevel(logging.ERROR)  # not its metrics' "unpublished" warning
    before = len(findings)
    try:
        sam_template = load_template(template_path)
    except (OSError, yaml.YAMLError, ValueError) as error:
        findings.add(1, "template-yaml", "", str(error))
        return None
    parameters = resolve_parameters(sam_template, environment.parameter_overrides, findings, environment.name)
    if len(findings) > before:
        return None
    # CloudFormation runs AWS::LanguageExtensions (Fn::ForEach) before the SAM transform.
    expanded = language_extensions.expand(sam_template, parameters, findings)
    if expanded is None:
        return None
    if language_extensions.uses_loops(sam_template) and not environment.language_extensions:
        findings.add(
            1,
            "samconfig-language-extensions",
            environment.name,
            "the template has Fn::ForEach loops but this environment's build does not set "
            "language_extensions = true: `sam build` fails on them (SAM CLI 1.161+ expands them only with it)",
        )
        return None
    sam_template = expanded
    artifacts = package(sam_template, environment.stack_name, artifact_bucket(account, environment.region), findings)
    if len(findings) > before:
        return None
    translator = Translator(
        None, Parser(), boto_session=boto3.session.Session(region_name=environment.region)
    )
    try:
        translated = translator.translate(
            copy.deepcopy(sam_template),
            parameter_values=copy.deepcopy(parameters),
            get_managed_policy_map=managed_policies.policy_arns,
        )
    except InvalidDocumentException as error:
        for cause in error.causes:
            findings.add(1, "sam-translator", getattr(cause, "_logical_id", "") or "", str(cause.message))
        return None
    except InvalidResourceException as error:
        findings.add(1, "sam-translator", error._logical_id, error.message)
        return None
    except Exception as error:  # the transform's own failure: report, don't crash
        findings.add(1, "sam-translator", "", f"{type(error).__name__}: {error}")
        return None
    return Translation(environment, account, sam_template, translated, parameters, artifacts)
