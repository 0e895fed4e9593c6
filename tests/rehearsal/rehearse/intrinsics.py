"""CloudFormation's intrinsic functions, for what stage 2 resolves itself: the
conditions, the properties of the resources the adapter creates or re-applies
through the service APIs, and the literal values of resources it creates before
the stack (substituted into the template moto receives).

Supported: Ref, Fn::GetAtt, Fn::Sub (both forms, `${!x}` escapes), Fn::Join,
Fn::Select, Fn::Split, Fn::If, Fn::Equals, Fn::Not, Fn::And, Fn::Or, Condition,
Fn::Base64, and `AWS::NoValue`. Anything else raises :class:`Unsupported`,
which stage 2 reports: an intrinsic the rehearsal cannot evaluate is never
passed over.
"""

from __future__ import annotations

import base64
import re
from typing import Any, Callable

NO_VALUE = object()  # `Ref: AWS::NoValue`: the key disappears

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class Unsupported(Exception):
    """An intrinsic function (or form of one) the rehearsal does not evaluate."""


class Context:
    """What an expression is evaluated against."""

    def __init__(
        self,
        parameters: dict[str, Any],
        pseudo: dict[str, Any],
        conditions: dict[str, bool] | None = None,
        ref: Callable[[str], Any] | None = None,
        getatt: Callable[[str, str], Any] | None = None,
    ) -> None:
        self.parameters = parameters
        self.pseudo = pseudo
        self.conditions = conditions or {}
        self._ref = ref
        self._getatt = getatt

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        if self._ref is None:
            raise Unsupported(f"Ref {name}: not resolvable here")
        return self._ref(name)

    def getatt(self, name: str, attribute: str) -> Any:
        if self._getatt is None:
            raise Unsupported(f"Fn::GetAtt {name}.{attribute}: not resolvable here")
        return self._getatt(name, attribute)


def _is_intrinsic(value: Any) -> str | None:
    if isinstance(value, dict) and len(value) == 1:
        (key,) = value
        if key == "Ref" or key == "Condition" or key.startswith("Fn::"):
            return key
    return None


def resolve(value: Any, context: Context) -> Any:
    """`value` with every intrinsic evaluated; keys whose value is `AWS::NoValue` are dropped."""
    function = _is_intrinsic(value)
    if function is not None:
        return _call(function, value[function], context)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            resolved = resolve(item, context)
            if resolved is not NO_VALUE:
                out[key] = resolved
        return out
    if isinstance(value, list):
        return [item for item in (resolve(item, context) for item in value) if item is not NO_VALUE]
    return value


def _call(function: str, argument: Any, context: Context) -> Any:
    if function == "Ref":
        return context.ref(argument)
    if function == "Condition":
        return evaluate_condition(argument, context)
    if function == "Fn::GetAtt":
        name, attribute = _getatt_parts(argument)
        return context.getatt(name, attribute)
    if function == "Fn::Sub":
        return _sub(argument, context)
    if function == "Fn::Join":
        delimiter, items = argument
        items = resolve(items, context)
        return str(delimiter).join(_text(item) for item in items)
    if function == "Fn::Select":
        index, items = argument
        return resolve(items, context)[int(resolve(index, context))]
    if function == "Fn::Split":
        delimiter, text = argument
        return str(resolve(text, context)).split(delimiter)
    if function == "Fn::If":
        name, then, otherwise = argument
        return resolve(then if evaluate_condition(name, context) else otherwise, context)
    if function in ("Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or"):
        return _boolean(function, argument, context)
    if function == "Fn::Base64":
        return base64.b64encode(_text(resolve(argument, context)).encode()).decode()
    raise Unsupported(f"{function} is not evaluated by the rehearsal")


def _getatt_parts(argument: Any) -> tuple[str, str]:
    if isinstance(argument, str):
        name, _, attribute = argument.partition(".")
        return name, attribute
    if isinstance(argument, list) and len(argument) == 2 and all(isinstance(part, str) for part in argument):
        return argument[0], argument[1]
    raise Unsupported(f"Fn::GetAtt {argument!r}")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_text(item) for item in value)
    return str(value)


def _sub(argument: Any, context: Context) -> str:
    if isinstance(argument, str):
        text, variables = argument, {}
    else:
        text, variables = argument[0], resolve(argument[1], context)

    def replace(match: re.Match[str]) -> str:
        inner = match.group(1)
        if inner.startswith("!"):
            return "${" + inner[1:] + "}"
        if inner in variables:
            return _text(variables[inner])
        if "." in inner and not inner.startswith("AWS::"):
            name, attribute = inner.split(".", 1)
            return _text(context.getatt(name, attribute))
        return _text(context.ref(inner))

    return _SUB_VARIABLE.sub(replace, text)


def _boolean(function: str, argument: Any, context: Context) -> bool:
    if function == "Fn::Equals":
        left, right = (resolve(item, context) for item in argument)
        return _text(left) == _text(right)
    if function == "Fn::Not":
        return not _truth(argument[0], context)
    if function == "Fn::And":
        return all(_truth(item, context) for item in argument)
    return any(_truth(item, context) for item in argument)


def _truth(value: Any, context: Context) -> bool:
    resolved = resolve(value, context)
    if not isinstance(resolved, bool):
        raise Unsupported(f"condition operand {value!r} is not a boolean")
    return resolved


def evaluate_condition(name: str, context: Context) -> bool:
    if name not in context.conditions:
        raise Unsupported(f"condition {name} is not defined")
    return context.conditions[name]


def evaluate_conditions(template: dict[str, Any], context: Context) -> dict[str, bool]:
    """Every condition of the template, in dependency order (conditions may use others)."""
    pending = dict(template.get("Conditions") or {})
    context.conditions = {}
    while pending:
        progressed = False
        for name, expression in list(pending.items()):
            try:
                context.conditions[name] = _truth(expression, context)
            except Unsupported as error:
                if "is not defined" in str(error):
                    continue
                raise
            del pending[name]
            progressed = True
        if not progressed:
            raise Unsupported(f"conditions that cannot be evaluated: {', '.join(pending)}")
    return context.conditions


# ------------------------------------------------------------ references


def references(value: Any, pseudo_and_parameters: set[str]) -> set[tuple[str, str | None]]:
    """Resources `value` refers to: (logical id, None) for a Ref, (logical id, attribute) for a GetAtt."""
    found: set[tuple[str, str | None]] = set()

    def walk(item: Any) -> None:
        function = _is_intrinsic(item)
        if function == "Ref":
            if isinstance(item["Ref"], str) and item["Ref"] not in pseudo_and_parameters and not item["Ref"].startswith("AWS::"):
                found.add((item["Ref"], None))
            return
        if function == "Fn::GetAtt":
            found.add(_getatt_parts(item["Fn::GetAtt"]))
            return
        if function == "Fn::Sub":
            argument = item["Fn::Sub"]
            text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1])
            walk(variables)
            for match in _SUB_VARIABLE.finditer(text):
                inner = match.group(1)
                if inner.startswith("!") or inner in variables or inner.startswith("AWS::"):
                    continue
                if "." in inner:
                    name, attribute = inner.split(".", 1)
                    found.add((name, attribute))
                elif inner not in pseudo_and_parameters:
                    found.add((inner, None))
            return
        if isinstance(item, dict):
            for child in item.values():
                walk(child)
        elif isinstance(item, list):
            for child in item:
                walk(child)

    walk(value)
    return found


def substitute(value: Any, literals: dict[str, dict[str | None, str]]) -> Any:
    """`value` with references to the resources of `literals` replaced by their values.

    `literals[logical_id][None]` is the resource's Ref value, `[attribute]` its
    GetAtt values. Used for resources created before the stack, so that moto's
    CloudFormation receives their identities as plain strings.
    """
    function = _is_intrinsic(value)
    if function == "Ref" and value["Ref"] in literals:
        return literals[value["Ref"]][None]
    if function == "Fn::GetAtt":
        name, attribute = _getatt_parts(value["Fn::GetAtt"])
        if name in literals:
            if attribute not in literals[name]:
                raise Unsupported(f"Fn::GetAtt {name}.{attribute}: the adapter does not provide this attribute")
            return literals[name][attribute]
    if function == "Fn::Sub":
        argument = value["Fn::Sub"]
        text, variables = (argument, None) if isinstance(argument, str) else (argument[0], argument[1])

        def replace(match: re.Match[str]) -> str:
            inner = match.group(1)
            if variables is not None and inner in variables:
                return match.group(0)
            name, _, attribute = inner.partition(".")
            if name in literals:
                key = attribute or None
                if key not in literals[name]:
                    raise Unsupported(f"${{{inner}}}: the adapter does not provide this attribute")
                return literals[name][key]
            return match.group(0)

        text = _SUB_VARIABLE.sub(replace, text)
        if variables is None:
            return {"Fn::Sub": text}
        return {"Fn::Sub": [text, substitute(variables, literals)]}
    if isinstance(value, dict):
        return {key: substitute(item, literals) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute(item, literals) for item in value]
    return value
