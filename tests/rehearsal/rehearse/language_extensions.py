"""Stage 1, before the SAM transform: CloudFormation's `AWS::LanguageExtensions`
transform, for what template.yaml uses of it.

CloudFormation runs the transforms a template lists in their order;
`Transform: [AWS::LanguageExtensions, AWS::Serverless-2016-10-31]` means this
one first, and the SAM transform sees its output. This module does that
first pass, as documented (CloudFormation Template Reference, "Fn::ForEach",
"Fn::Length", "AWS::LanguageExtensions transform"; SAM CLI's
`samcli/lib/cfn_language_extensions` does the same locally):

- `Fn::ForEach::LoopName: [Identifier, Collection, {OutputKey: OutputValue}]`
  in `Conditions`, `Resources` (also inside a resource's `Properties`) and
  `Outputs`, nested loops included: for each item of the collection, the
  fragment is copied with every `${Identifier}` in keys and strings replaced
  by the item, every `&{Identifier}` by the item without its
  non-alphanumeric characters, and every `{"Ref": Identifier}` by the item.
  The collection is a list of strings (scalars taken as their text) or a
  `Ref` to a `CommaDelimitedList` parameter. Each OutputKey must name the
  identifier (else every item would make the same key); two items making
  the same key, or a key that already exists, are refused, as CloudFormation
  refuses them; so is an identifier or loop name equal to a parameter's.
- `Fn::Length` of a literal list, or of a `Ref` to a list parameter.

Everything else the transform defines (`Fn::ToJsonString`, `Fn::FindInMap`'s
`DefaultValue`, intrinsic functions in `DeletionPolicy`/`UpdateReplacePolicy`
or inside `Ref`/`Fn::GetAtt`, a collection that is another intrinsic
function) is refused with a finding (`language-extensions-unsupported`),
never passed on half-done: the rehearsal's principle is to be strict about
what it cannot check. A `Fn::ForEach` key in a template that does not list
the transform first is a finding too (CloudFormation would refuse the
template, or the SAM transform would see the loop unexpanded).
"""

from __future__ import annotations

import copy
import re
from typing import Any

from .findings import Findings

TRANSFORM = "AWS::LanguageExtensions"
SAM_TRANSFORM = "AWS::Serverless-2016-10-31"
FOR_EACH = "Fn::ForEach::"
# Sections where CloudFormation allows Fn::ForEach.
LOOP_SECTIONS = ("Conditions", "Resources", "Outputs")
# Defined by the transform but not implemented here: refused if present.
UNSUPPORTED_FUNCTIONS = ("Fn::ToJsonString",)
_NON_ALPHANUMERIC = re.compile(r"[^A-Za-z0-9]")


class _Refused(Exception):
    """A construct this module does not expand (or that CloudFormation refuses)."""

    def __init__(self, where: str, message: str, rule: str = "language-extensions") -> None:
        super().__init__(message)
        self.where = where
        self.message = message
        self.rule = rule


def transforms(template: dict[str, Any]) -> list[Any]:
    """The template's `Transform`, as a list."""
    declared = template.get("Transform")
    if declared is None:
        return []
    return list(declared) if isinstance(declared, list) else [declared]


def expand(template: dict[str, Any], parameters: dict[str, Any], findings: Findings) -> dict[str, Any] | None:
    """The template as the SAM transform receives it: `AWS::LanguageExtensions` applied if listed.

    `parameters` are the resolved parameter values (lists for the list types), for collections
    that `Ref` a parameter. Returns None (with findings) when the template uses what is refused.
    A template that does not list the transform is returned unchanged, unless it uses
    `Fn::ForEach`, which is then a finding.
    """
    listed = transforms(template)
    if TRANSFORM not in listed:
        loops = sorted(_loop_keys(template))
        if loops:
            findings.add(
                1,
                "language-extensions-missing",
                loops[0],
                f"uses {', '.join(loops)} but Transform does not list {TRANSFORM} (before {SAM_TRANSFORM})",
            )
            return None
        return template
    if SAM_TRANSFORM in listed and listed.index(TRANSFORM) > listed.index(SAM_TRANSFORM):
        findings.add(
            1,
            "language-extensions-order",
            "",
            f"Transform lists {TRANSFORM} after {SAM_TRANSFORM}: CloudFormation runs them in order, "
            "so the SAM transform would see the loops unexpanded",
        )
        return None
    result = copy.deepcopy(template)
    parameter_names = set((template.get("Parameters") or {}).keys())
    try:
        for section in LOOP_SECTIONS:
            if section in result and isinstance(result[section], dict):
                result[section] = _expand_mapping(
                    result[section], section, parameters, parameter_names, in_resources=section == "Resources"
                )
        _refuse_leftovers(result, parameters)
    except _Refused as refused:
        findings.add(1, refused.rule, refused.where, refused.message)
        return None
    remaining = [name for name in listed if name != TRANSFORM]
    if not remaining:
        result.pop("Transform", None)
    else:
        result["Transform"] = remaining[0] if len(remaining) == 1 else remaining
    return result


def uses_loops(template: dict[str, Any]) -> bool:
    """Whether the template has any `Fn::ForEach` loop."""
    return bool(_loop_keys(template))


def _loop_keys(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and key.startswith(FOR_EACH):
                found.add(key)
            found |= _loop_keys(item)
    elif isinstance(value, list):
        for item in value:
            found |= _loop_keys(item)
    return found


def _expand_mapping(
    mapping: dict[str, Any],
    where: str,
    parameters: dict[str, Any],
    parameter_names: set[str],
    in_resources: bool = False,
    identifiers: tuple[str, ...] = (),
) -> dict[str, Any]:
    """`mapping` with its `Fn::ForEach::` keys expanded (and, in Resources, loops inside each
    resource's Properties)."""
    result: dict[str, Any] = {}

    def put(key: str, value: Any, loop: str) -> None:
        if key in result:
            raise _Refused(key, f"{loop} makes {key!r}, which already exists in {where}")
        result[key] = value

    for key, value in mapping.items():
        if isinstance(key, str) and key.startswith(FOR_EACH):
            for out_key, out_value in _expand_loop(key, value, where, parameters, parameter_names, identifiers).items():
                if in_resources:
                    out_value = _expand_properties(out_key, out_value, parameters, parameter_names)
                put(out_key, out_value, key)
        else:
            if in_resources:
                value = _expand_properties(key, value, parameters, parameter_names)
            put(key, value, where)
    return result


def _expand_properties(logical_id: str, resource: Any, parameters: dict[str, Any], parameter_names: set[str]) -> Any:
    if not isinstance(resource, dict) or not isinstance(resource.get("Properties"), dict):
        return resource
    expanded = dict(resource)
    expanded["Properties"] = _expand_nested(resource["Properties"], f"{logical_id}.Properties", parameters, parameter_names)
    return expanded


def _expand_nested(value: Any, where: str, parameters: dict[str, Any], parameter_names: set[str]) -> Any:
    """Loops anywhere inside a resource's Properties (a loop there makes properties, i.e. keys)."""
    if isinstance(value, dict):
        if any(isinstance(key, str) and key.startswith(FOR_EACH) for key in value):
            value = _expand_mapping(value, where, parameters, parameter_names)
        return {key: _expand_nested(item, f"{where}.{key}", parameters, parameter_names) for key, item in value.items()}
    if isinstance(value, list):
        return [_expand_nested(item, f"{where}[{index}]", parameters, parameter_names) for index, item in enumerate(value)]
    return value


def _expand_loop(
    key: str,
    value: Any,
    where: str,
    parameters: dict[str, Any],
    parameter_names: set[str],
    identifiers: tuple[str, ...],
) -> dict[str, Any]:
    loop = key[len(FOR_EACH) :]
    if not loop or _NON_ALPHANUMERIC.search(loop):
        raise _Refused(key, f"{key}: the loop name must be alphanumeric")
    if loop in parameter_names:
        raise _Refused(key, f"{key}: the loop name {loop!r} is also a parameter's")
    if not isinstance(value, list) or len(value) != 3:
        raise _Refused(key, f"{key}: expected [Identifier, Collection, {{OutputKey: OutputValue}}]")
    identifier, collection, fragment = value
    if not isinstance(identifier, str) or not identifier or _NON_ALPHANUMERIC.search(identifier):
        raise _Refused(key, f"{key}: the identifier must be an alphanumeric string, not {identifier!r}")
    if identifier in parameter_names:
        raise _Refused(key, f"{key}: the identifier {identifier!r} is also a parameter's")
    if identifier in identifiers:
        raise _Refused(key, f"{key}: the identifier {identifier!r} is already an enclosing loop's")
    if not isinstance(fragment, dict) or not fragment:
        raise _Refused(key, f"{key}: the fragment must be a non-empty mapping of OutputKey to OutputValue")
    items = _collection(key, collection, parameters)
    for out_key in fragment:
        if not isinstance(out_key, str):
            raise _Refused(key, f"{key}: OutputKey {out_key!r} is not a string")
        if not out_key.startswith(FOR_EACH) and f"${{{identifier}}}" not in out_key and f"&{{{identifier}}}" not in out_key:
            raise _Refused(key, f"{key}: OutputKey {out_key!r} names neither ${{{identifier}}} nor &{{{identifier}}}")
    result: dict[str, Any] = {}
    for item in items:
        copied = substitute(fragment, identifier, item)
        # Loops nested in the fragment are expanded within each copy.
        copied = _expand_mapping(copied, where, parameters, parameter_names, identifiers=identifiers + (identifier,))
        for out_key, out_value in copied.items():
            if out_key in result:
                raise _Refused(out_key, f"{key} makes {out_key!r} twice (for two items of its collection)")
            result[out_key] = out_value
    return result


def _collection(key: str, collection: Any, parameters: dict[str, Any]) -> list[str]:
    if isinstance(collection, dict) and set(collection) == {"Ref"}:
        name = collection["Ref"]
        value = parameters.get(name)
        if not isinstance(value, list):
            raise _Refused(
                key,
                f"{key}: the collection is Ref {name!r}, which is not a list parameter (CommaDelimitedList)",
                "language-extensions-unsupported",
            )
        return [str(item) for item in value]
    if not isinstance(collection, list):
        raise _Refused(
            key,
            f"{key}: the collection {collection!r} is neither a list nor a Ref to a list parameter "
            "(the rehearsal evaluates no other function here)",
            "language-extensions-unsupported",
        )
    items = []
    for item in collection:
        if isinstance(item, bool):
            items.append("true" if item else "false")
        elif isinstance(item, (str, int, float)):
            items.append(str(item))
        else:
            raise _Refused(
                key,
                f"{key}: collection item {item!r} is not a string (the rehearsal evaluates no function here)",
                "language-extensions-unsupported",
            )
    if len(set(items)) != len(items):
        raise _Refused(key, f"{key}: the collection repeats an item")
    return items


def substitute(value: Any, identifier: str, item: str) -> Any:
    """`value` with `${identifier}` → item, `&{identifier}` → item's alphanumerics, and
    `{"Ref": identifier}` → item, in keys and strings at any depth."""
    if isinstance(value, str):
        return value.replace(f"${{{identifier}}}", item).replace(
            f"&{{{identifier}}}", _NON_ALPHANUMERIC.sub("", item)
        )
    if isinstance(value, dict):
        if len(value) == 1 and value.get("Ref") == identifier:
            return item
        return {substitute(key, identifier, item): substitute(inner, identifier, item) for key, inner in value.items()}
    if isinstance(value, list):
        return [substitute(inner, identifier, item) for inner in value]
    return value


def _refuse_leftovers(template: dict[str, Any], parameters: dict[str, Any]) -> None:
    """Fn::Length is evaluated (literal lists); anything else the transform defines is refused,
    and so is a loop left where CloudFormation does not allow one."""
    for key in _loop_keys(template):
        raise _Refused(key, f"{key} is outside Conditions, Resources (and their Properties) and Outputs")

    def walk(value: Any, where: str) -> Any:
        if isinstance(value, dict):
            if len(value) == 1:
                (function, argument), = value.items()
                if function == "Fn::Length":
                    return _length(argument, where, parameters)
                if function in UNSUPPORTED_FUNCTIONS:
                    raise _Refused(where, f"{function} is not implemented by the rehearsal", "language-extensions-unsupported")
                if function == "Fn::FindInMap" and isinstance(argument, list) and len(argument) == 4:
                    raise _Refused(
                        where, "Fn::FindInMap with DefaultValue is not implemented by the rehearsal", "language-extensions-unsupported"
                    )
                if function in ("Ref", "Fn::GetAtt") and _has_intrinsic(argument):
                    raise _Refused(
                        where, f"an intrinsic function inside {function} is not implemented by the rehearsal",
                        "language-extensions-unsupported",
                    )
            return {key: walk(inner, f"{where}.{key}" if where else str(key)) for key, inner in value.items()}
        if isinstance(value, list):
            return [walk(inner, f"{where}[{index}]") for index, inner in enumerate(value)]
        return value

    for section in list(template):
        template[section] = walk(template[section], section)
    for logical_id, resource in (template.get("Resources") or {}).items():
        if isinstance(resource, dict):
            for policy in ("DeletionPolicy", "UpdateReplacePolicy"):
                if _has_intrinsic(resource.get(policy)):
                    raise _Refused(
                        logical_id, f"an intrinsic function in {policy} is not implemented by the rehearsal",
                        "language-extensions-unsupported",
                    )


def _length(argument: Any, where: str, parameters: dict[str, Any]) -> int:
    if isinstance(argument, list) and not any(_has_intrinsic(item) for item in argument):
        return len(argument)
    if isinstance(argument, dict) and set(argument) == {"Ref"} and isinstance(parameters.get(argument["Ref"]), list):
        return len(parameters[argument["Ref"]])
    raise _Refused(
        where,
        f"Fn::Length of {argument!r}: only a literal list or a Ref to a list parameter is implemented by the rehearsal",
        "language-extensions-unsupported",
    )


def _has_intrinsic(value: Any) -> bool:
    if isinstance(value, dict):
        return any(key == "Ref" or (isinstance(key, str) and key.startswith("Fn::")) for key in value) or any(
            _has_intrinsic(inner) for inner in value.values()
        )
    if isinstance(value, list):
        return any(_has_intrinsic(inner) for inner in value)
    return False
