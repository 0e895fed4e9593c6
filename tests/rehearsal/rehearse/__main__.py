"""The rehearsal's command line (tests/rehearsal/run starts moto and calls this).

    python -m rehearse --endpoint URL [--template PATH] [--samconfig PATH]
                       [--config-env NAME|all] [--stages 1-3|all|N-M]
                       [--facts JSON] [--config-check BIN] [--dump-deployed DIR]
                       [--parameter-overrides "Key=Value ..."]

For each configuration environment of samconfig.toml: stage 1 translates,
stage 2 deploys on the (reset) emulator, stage 3 checks the deployed state
against the code; stages 4–5 (the lead's modules) run through the hook below.
Every finding is printed; any finding exits 1. `--parameter-overrides` is
applied over every environment's own, as `sam deploy --parameter-overrides`
would (CI rehearses `prod` with MediaCdn=true that way: no samconfig
environment turns the CDN on).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from . import deploy as deploy_stage
from . import translate as translate_stage
from .deployed import read_deployed
from .findings import Findings, StageFailed

REPO = Path(__file__).resolve().parents[3]
ACCOUNT = deploy_stage.MOTO_ACCOUNT


def parse_stages(text: str) -> set[int]:
    if text == "all":
        return {1, 2, 3, 4, 5}
    low, _, high = text.partition("-")
    first, last = int(low), int(high or low)
    if not 1 <= first <= last <= 5:
        raise argparse.ArgumentTypeError(f"stages {text!r}: expected N, N-M within 1-5, or all")
    return set(range(first, last + 1))


def reset(endpoint: str) -> None:
    """Empties moto (`POST /moto-api/reset`), so that each environment deploys from scratch."""
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 (loopback)
        response.read()


def later_stages(stages: set[int], deployment: Any, state: dict[str, Any], findings: Findings, args: argparse.Namespace) -> None:
    """Hook for stages 4–5 (the lead's modules: the Runtime API host, the front door, event delivery,
    the recording proxy and IAM evaluation). They get the deployment (endpoint, stack, resolved template)
    and the deployed state of :func:`rehearse.deployed.read_deployed`, and add their findings."""
    if not stages & {4, 5}:
        return
    try:
        from . import run_stack  # type: ignore[attr-defined]  # the lead's stage 4–5 module
    except ImportError:
        findings.add(4, "not-available", "", "stages 4-5 are not in this checkout (rehearse/run_stack.py)")
        return
    run_stack.run(stages, deployment, state, findings, args)


def load_environment(name: str, args: argparse.Namespace, findings: Findings) -> Any:
    """samconfig's environment `name`, with the command line's parameter overrides over its own."""
    environment = translate_stage.load_environment(args.samconfig, name, findings)
    if environment is None or not args.parameter_overrides:
        return environment
    return dataclasses.replace(
        environment, parameter_overrides={**environment.parameter_overrides, **args.parameter_overrides}
    )


def rehearse_environment(name: str, args: argparse.Namespace, stages: set[int]) -> Findings:
    findings = Findings()
    environment = load_environment(name, args, findings)
    if environment is None:
        return findings
    started = time.monotonic()
    translation = translate_stage.translate(args.template, environment, ACCOUNT, findings)
    say(f"  stage 1 (translate): {len(translation.template['Resources']) if translation else 0} resources "
        f"({time.monotonic() - started:.1f} s)")
    if translation is None or stages == {1}:
        return findings
    started = time.monotonic()
    reset(args.endpoint)
    try:
        deployment = deploy_stage.deploy(translation, args.endpoint, findings)
    except StageFailed:
        return findings
    state = read_deployed(args.endpoint, environment.stack_name, environment.region)
    deploy_stage.verify(deployment, state, findings)
    say(f"  stage 2 (deploy on moto): {environment.stack_name} ({time.monotonic() - started:.1f} s)")
    if args.dump_deployed:
        args.dump_deployed.mkdir(parents=True, exist_ok=True)
        (args.dump_deployed / f"{name}.json").write_text(json.dumps(state, indent=1, sort_keys=True, default=str))
    if 3 in stages:
        from . import checks

        started = time.monotonic()
        facts = json.loads(args.facts.read_text()) if args.facts else None
        checks.run(state, deployment, facts, args.config_check, findings)
        say(f"  stage 3 (deployed state vs code) ({time.monotonic() - started:.1f} s)")
    later_stages(stages, deployment, state, findings, args)
    return findings


def same_as(name: str, args: argparse.Namespace, rehearsed: dict[tuple[Any, ...], str]) -> str | None:
    """The environment already rehearsed that deploys exactly what `name` deploys (samconfig's
    `default` and `dev` are one stack on purpose), or None (and `name` is remembered)."""
    environment = load_environment(name, args, Findings())
    if environment is None:
        return None
    key = (
        environment.stack_name,
        environment.region,
        tuple(sorted(environment.parameter_overrides.items())),
        tuple(sorted(environment.capabilities)),
    )
    if key in rehearsed:
        return rehearsed[key]
    rehearsed[key] = name
    return None


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rehearse", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", required=True, help="moto server base URL")
    parser.add_argument("--template", type=Path, default=REPO / "template.yaml")
    parser.add_argument("--samconfig", type=Path, default=None, help="default: samconfig.toml beside the template's repo")
    parser.add_argument("--config-env", default="all", help="a samconfig environment, or all (default)")
    parser.add_argument("--stages", type=parse_stages, default=parse_stages("1-3"))
    parser.add_argument("--facts", type=Path, help="the code's facts (JSON printed by the tests package's model-facts bin)")
    parser.add_argument("--config-check", type=Path, help="the tests package's config-check bin")
    parser.add_argument("--dump-deployed", type=Path, help="write each environment's deployed state (JSON) here")
    parser.add_argument(
        "--parameter-overrides",
        default="",
        help="Key=Value pairs (SAM CLI's grammar) applied over every environment's parameter_overrides",
    )
    args = parser.parse_args(argv)
    overrides, leftover = translate_stage.parse_parameter_overrides(args.parameter_overrides)
    if leftover.strip():
        parser.error(f"--parameter-overrides: cannot read {leftover.strip()!r} (Key=Value pairs)")
    args.parameter_overrides = overrides
    if args.samconfig is None:
        args.samconfig = REPO / "samconfig.toml"
    if 3 in args.stages and (args.facts is None or args.config_check is None):
        parser.error("stage 3 needs --facts and --config-check (tests/rehearsal/run passes them)")
    names = (
        translate_stage.config_environments(args.samconfig) if args.config_env == "all" else [args.config_env]
    )
    total = 0
    rehearsed: dict[tuple[Any, ...], str] = {}
    for name in names:
        same = same_as(name, args, rehearsed)
        if same:
            say(f"==> rehearsal: environment {name}: the same stack, region and parameters as {same}, not deployed twice")
            continue
        shown = " ".join(f"{key}={value}" for key, value in args.parameter_overrides.items())
        say(
            f"==> rehearsal: environment {name}{' with ' + shown if shown else ''} "
            f"({args.template}, stages {min(args.stages)}-{max(args.stages)})"
        )
        findings = rehearse_environment(name, args, args.stages)
        total += len(findings)
        for finding in findings:
            print(f"{name}: {finding.render()}")
    if total:
        print(f"rehearsal: {total} finding(s) in {len(names)} environment(s)", file=sys.stderr)
        return 1
    print(f"rehearsal: no findings ({', '.join(names)})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
