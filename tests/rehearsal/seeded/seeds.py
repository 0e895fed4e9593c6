"""Seeded deployment bugs: each is applied to a copy of template.yaml (or
samconfig.toml), the rehearsal runs on the copy, and the seed passes when the
rehearsal fails with the finding expected. A rehearsal that cannot fail proves
nothing; this shows each rule can.

    tests/rehearsal/seeded/run [--only NAME]...

Add a seed: one `Seed(...)` in SEEDS: a name, the stage that must catch it,
the finding's rule and a text of its message (or resource), and the edit
(:func:`replace` on the template, :func:`add_resource`, :func:`override` on
samconfig.toml). `stages` defaults to what the seed's stage needs (seeds of
stages 4-5 run everything). `web=True`: the seed is caught by the web client in
Chromium (one e2e test through the front door, REHEARSAL_WEB=quick).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from rehearse import __main__ as rehearsal  # noqa: E402
from rehearse.findings import Findings  # noqa: E402

REPO = HERE.parents[2]
Edit = Callable[[str], str]


@dataclasses.dataclass(frozen=True)
class Seed:
    """One deployment bug and the finding that must catch it."""

    name: str
    why: str
    stage: int
    rule: str
    text: str  # found in the finding's message or resource
    template: Edit | None = None
    samconfig: Edit | None = None
    config_env: str = "default"
    stages: str | None = None
    web: bool = False


def replace(old: str, new: str, count: int = 1) -> Edit:
    """An edit of the text: `old` (which must be there `count` times) becomes `new`."""

    def edit(text: str) -> str:
        found = text.count(old)
        if found != count:
            raise SeedError(f"expected {count} × {old!r} in the file, found {found}")
        return text.replace(old, new)

    return edit


def add_resource(yaml_text: str) -> Edit:
    """Adds resources (indented YAML under `Resources:`) right after the `Resources:` line."""
    return replace("\nResources:\n", "\nResources:\n" + yaml_text.rstrip("\n") + "\n\n")


def override(environment: str, assignment: str) -> Edit:
    """Appends `Key=Value` to an environment's parameter_overrides in samconfig.toml."""

    def edit(text: str) -> str:
        section = f"[{environment}.deploy.parameters]"
        start = text.find(section)
        if start < 0:
            raise SeedError(f"samconfig.toml has no {section}")
        line_start = text.find("parameter_overrides = ", start)
        if line_start < 0:
            raise SeedError(f"{section} has no parameter_overrides")
        line_end = text.find("\n", line_start)
        line = text[line_start:line_end]
        if not line.endswith('"'):
            raise SeedError(f"unexpected parameter_overrides line {line!r}")
        return text[:line_start] + line[:-1] + f' {assignment}"' + text[line_end:]

    return edit


class SeedError(Exception):
    """A seed that no longer applies to the template (fix the seed)."""


def _add_route(text: str) -> str:
    """Adds `GET /douyin/user/extra/` to UserInfoFunction's events."""
    start = text.index("  UserInfoFunction:\n")
    events = text.index("      Events:\n", start)
    event = (
        "      Events:\n"
        "        Extra:\n"
        "          Type: HttpApi\n"
        "          Properties:\n"
        "            ApiId: !Ref Api\n"
        "            Method: GET\n"
        "            Path: /douyin/user/extra/\n"
    )
    return text[:events] + event + text[events + len("      Events:\n") :]


def _prod_without_language_extensions(text: str) -> str:
    """Drops `language_extensions = true` from samconfig.toml's prod environment."""
    start = text.index("[prod.global.parameters]\n")
    line = text.index("language_extensions = true\n", start)
    return text[:line] + text[line + len("language_extensions = true\n") :]


SEEDS: list[Seed] = [
    Seed(
        "lifecycle-expires-published",
        "the upload-expiry rule loses its prefix: published videos and covers expire after a day",
        3,
        "bucket-lifecycle",
        "published video",
        template=replace(
            "          - Id: ExpireUnclaimedUploads\n            Status: Enabled\n            Prefix: uploads/\n",
            "          - Id: ExpireUnclaimedUploads\n            Status: Enabled\n",
        ),
    ),
    Seed(
        "lifecycle-tag-typo",
        "the upload-expiry rule filters on a tag the presigned PUT does not set: abandoned uploads stay forever",
        3,
        "bucket-lifecycle",
        "unclaimed upload",
        template=replace("                Value: upload\n", "                Value: uploads\n"),
    ),
    Seed(
        "cdn-reads-uploads",
        "prod (CDN on): the bucket policy lets the distribution read the whole bucket, pending uploads included",
        3,
        "cdn-bucket-policy",
        "may read uploads",
        template=replace('                - !Sub "${MediaBucket.Arn}/videos/*"', '                - !Sub "${MediaBucket.Arn}/*"'),
        config_env="prod",
    ),
    Seed(
        "cdn-any-distribution",
        "prod (CDN on): the read grant names the account, not the distribution: any distribution of the account may read the media",
        3,
        "cdn-bucket-policy",
        "another distribution",
        template=replace(
            '                  AWS:SourceArn: !Sub "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${MediaDistribution}"',
            "                  AWS:SourceAccount: !Ref AWS::AccountId",
        ),
        config_env="prod",
    ),
    Seed(
        "cdn-origin-drift",
        "prod (CDN on): the distribution's origin names a bucket the functions do not write",
        3,
        "cdn-origin",
        "regional domain",
        template=replace(
            'DomainName: !Sub "douyin-media-${AWS::AccountId}-${AWS::Region}-${Stage}.s3.',
            'DomainName: !Sub "douyin-media-${AWS::AccountId}-${Stage}.s3.',
        ),
        config_env="prod",
    ),
    Seed(
        "bucket-name-drift",
        "the functions read a bucket name that is not the bucket's",
        3,
        "environment-bucket",
        "DOUYIN_MEDIA_BUCKET",
        template=replace(
            'DOUYIN_MEDIA_BUCKET: !Sub "douyin-media-${AWS::AccountId}-${AWS::Region}-${Stage}"',
            'DOUYIN_MEDIA_BUCKET: !Sub "douyin-media-${AWS::AccountId}-${Stage}"',
        ),
    ),
    Seed(
        "gsi1-keys-swapped",
        "gsi1's hash and range keys swapped: every feed and list query finds nothing",
        3,
        "table-index-keys",
        "gsi1",
        template=replace(
            "            - { AttributeName: gsi1pk, KeyType: HASH }\n            - { AttributeName: gsi1sk, KeyType: RANGE }",
            "            - { AttributeName: gsi1sk, KeyType: HASH }\n            - { AttributeName: gsi1pk, KeyType: RANGE }",
        ),
    ),
    Seed(
        "notification-prefix-everything",
        "the ingest notified of every object: its own covers trigger it again",
        3,
        "bucket-notification-retrigger",
        "covers/",
        template=replace("                    Value: uploads/", '                    Value: ""'),
    ),
    Seed(
        "notification-prefix-c",
        "a prefix typo ('c') that matches the covers the ingest writes",
        3,
        "bucket-notification-retrigger",
        "covers/",
        template=replace("                    Value: uploads/", "                    Value: c"),
    ),
    Seed(
        "time-zone-samconfig",
        "a time zone the code refuses, as a samconfig override: refused at stage 1 by AllowedValues",
        1,
        "parameter-allowed-values",
        "TimeZone",
        samconfig=override("prod", "TimeZone=Asia/Beijing"),
        config_env="prod",
    ),
    Seed(
        "time-zone-default",
        "a time zone the code refuses, as the template's default",
        1,
        "parameter-allowed-values",
        "TimeZone",
        template=replace("    Default: Asia/Shanghai\n", "    Default: China/Shanghai\n"),
    ),
    Seed(
        "time-zone-in-the-environment",
        "a time zone written into the functions' environment, past the parameter",
        3,
        "environment-config",
        "DOUYIN_TIME_ZONE",
        template=replace("DOUYIN_TIME_ZONE: !Ref TimeZone", "DOUYIN_TIME_ZONE: Asia/Beijing"),
    ),
    Seed(
        "samconfig-without-language-extensions",
        "prod's build does not turn on SAM CLI's language extensions: `sam build` fails on the template's loops",
        1,
        "samconfig-language-extensions",
        "language_extensions = true",
        samconfig=_prod_without_language_extensions,
        config_env="prod",
    ),
    Seed(
        "argon2-lanes-samconfig",
        "more argon2 lanes than the bounds allow (9 > 8)",
        1,
        "parameter-max-value",
        "Argon2Parallelism",
        samconfig=override("prod", "Argon2Parallelism=9"),
        config_env="prod",
    ),
    Seed(
        "rate-window-beyond-a-week",
        "a rate window longer than the configuration accepts",
        1,
        "parameter-allowed-pattern",
        "RateMessage",
        samconfig=override("prod", "RateMessage=10/604801"),
        config_env="prod",
    ),
    Seed(
        "unknown-resource-type",
        "a resource type the adapter does not know: never silently skipped",
        2,
        "strict-resource-type",
        "AWS::Events::Rule",
        template=add_resource(
            "  NightlyRule:\n"
            "    Type: AWS::Events::Rule\n"
            "    Properties:\n"
            '      ScheduleExpression: "cron(0 3 * * ? *)"\n'
            "      State: DISABLED\n"
        ),
    ),
    Seed(
        "unknown-property",
        "a property the adapter does not know (moto would drop it and report success)",
        2,
        "strict-property",
        "TableClass",
        template=replace(
            "      BillingMode: PAY_PER_REQUEST\n", "      BillingMode: PAY_PER_REQUEST\n      TableClass: STANDARD_INFREQUENT_ACCESS\n"
        ),
    ),
    Seed(
        "timeout-below-sdk-worst-case",
        "functions killed before a slow SDK call returns",
        3,
        "timeout-sdk",
        "does not exceed one SDK call's worst case",
        template=replace("    Timeout: 20\n", "    Timeout: 10\n"),
    ),
    Seed(
        "route-with-trailing-slash",
        "a route key ending in '/', which API Gateway drops at import",
        3,
        "route-trailing-slash",
        "GET /douyin/user/extra/",
        template=_add_route,
    ),
    Seed(
        "chat-visibility-too-short",
        "a visibility timeout under 6x the consumer's timeout: batches delivered twice",
        3,
        "queue-visibility",
        "VisibilityTimeout 60 s",
        template=replace("      VisibilityTimeout: 120 ", "      VisibilityTimeout: 60 "),
    ),
    Seed(
        "log-group-without-retention",
        "the log groups' loop loses its retention: every function's logs kept forever",
        3,
        "log-retention",
        "FeedFunction",
        template=replace(
            '          LogGroupName: !Sub "/aws/lambda/${${Name}Function}"\n          RetentionInDays: !Ref LogRetentionDays\n',
            '          LogGroupName: !Sub "/aws/lambda/${${Name}Function}"\n',
        ),
    ),
    Seed(
        "function-left-out-of-the-loops",
        "a function missing from the loops' collection: Lambda makes its log group, without retention",
        3,
        "log-group",
        "VideoIngestFunction",
        template=replace("       MessageConsumer, VideoIngest, RouteFallback]", "       MessageConsumer, RouteFallback]"),
    ),
    Seed(
        "fallback-passes-to-the-wrong-function",
        "route-fallback passes /douyin/feed/ on to another endpoint's function",
        3,
        "fallback-targets",
        "feed is passed on to",
        template=replace('!Sub "feed=${FeedFunction}"', '!Sub "feed=${UserInfoFunction}"'),
    ),
    # Stages 4-5: found only by running the stack (tests/rehearsal/seeded/run --deployed).
    Seed(
        "feed-without-batchgetitem",
        "the feed's role lost BatchGetItem: every page with a video fails",
        5,
        "denied",
        "dynamodb:BatchGetItem",
        template=replace(
            "            # warm-up during init reads a guest's newest page the same way.\n"
            "            - Sid: Table\n"
            "              Effect: Allow\n"
            "              Action: dynamodb:BatchGetItem\n",
            "            # warm-up during init reads a guest's newest page the same way.\n"
            "            - Sid: Table\n"
            "              Effect: Allow\n"
            "              Action: dynamodb:GetItem\n",
        ),
    ),
    Seed(
        "feed-query-on-the-table-not-its-indexes",
        "Query granted on the table's ARN, which does not cover its indexes",
        5,
        "denied",
        "dynamodb:Query",
        template=replace(
            "            # The feed shards are partitions of index gsi1, queried in parallel.\n"
            "            - Sid: Indexes\n"
            "              Effect: Allow\n"
            "              Action: dynamodb:Query\n"
            '              Resource: !Sub "${Table.Arn}/index/*"\n',
            "            # The feed shards are partitions of index gsi1, queried in parallel.\n"
            "            - Sid: Indexes\n"
            "              Effect: Allow\n"
            "              Action: dynamodb:Query\n"
            "              Resource: !GetAtt Table.Arn\n",
        ),
    ),
    Seed(
        "chat-send-granted-on-the-wrong-queue",
        "message-action may send to the dead-letter queue, not the chat queue",
        5,
        "denied",
        "sqs:SendMessage",
        template=replace(
            "              Action: sqs:SendMessage\n              Resource: !GetAtt ChatQueue.Arn\n",
            "              Action: sqs:SendMessage\n              Resource: !GetAtt ChatDeadLetterQueue.Arn\n",
        ),
    ),
    Seed(
        "rate-window-key-condition-typo",
        "login's rate-window grant limited to keys RATE_#*: no login can count its attempt",
        5,
        "denied",
        "dynamodb:UpdateItem",
        template=replace('dynamodb:LeadingKeys: ["RATE#*"]', 'dynamodb:LeadingKeys: ["RATE_#*"]'),
    ),
    Seed(
        "api-cors-without-the-web-origin",
        "WebOrigins names one site while the web client is served from another: every call "
        "from the page is refused by the browser",
        4,
        "web",
        "the API refused the page's origin",
        samconfig=override("default", "WebOrigins=https://douyin.example.com"),
        web=True,
    ),
    Seed(
        "bucket-cors-without-put",
        "the media bucket's CORS allows GET only: the browser's presigned upload fails its preflight",
        4,
        "web",
        "the upload ended failed",
        template=replace(
            "          - AllowedMethods: [GET, PUT]\n            AllowedOrigins: [\"*\"]\n",
            "          - AllowedMethods: [GET]\n            AllowedOrigins: [\"*\"]\n",
        ),
        web=True,
    ),
]


def stages_of(seed: Seed) -> str:
    if seed.stages:
        return seed.stages
    return "1-3" if seed.stage <= 3 else "all"


def run_seed(seed: Seed, base: argparse.Namespace) -> tuple[bool, str]:
    """Applies `seed` to copies of the files and rehearses them; (caught, what was found)."""
    with tempfile.TemporaryDirectory(prefix=f"seed-{seed.name}-") as folder:
        template = Path(folder) / "template.yaml"
        samconfig = Path(folder) / "samconfig.toml"
        shutil.copy(REPO / "template.yaml", template)
        shutil.copy(REPO / "samconfig.toml", samconfig)
        try:
            if seed.template:
                template.write_text(seed.template(template.read_text()))
            if seed.samconfig:
                samconfig.write_text(seed.samconfig(samconfig.read_text()))
        except SeedError as error:
            return False, f"the seed no longer applies: {error}"
        args = argparse.Namespace(**vars(base))
        args.template, args.samconfig = template, samconfig
        stages = rehearsal.parse_stages(stages_of(seed))
        os.environ["REHEARSAL_WEB"] = "quick" if seed.web else "off"
        try:
            findings = rehearsal.rehearse_environment(seed.config_env, args, stages)
        finally:
            del os.environ["REHEARSAL_WEB"]
    matching = [
        f for f in findings if f.stage == seed.stage and f.rule == seed.rule and (seed.text in f.message or seed.text in f.resource)
    ]
    if matching:
        return True, matching[0].render()
    listed = "\n      ".join(f.render() for f in findings) or "no findings"
    return False, f"expected [stage {seed.stage}] {seed.rule} mentioning {seed.text!r}; found:\n      {listed}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--facts", type=Path, required=True)
    parser.add_argument("--config-check", type=Path, required=True)
    parser.add_argument("--only", action="append", default=[], help="run only this seed (repeatable)")
    parser.add_argument("--deployed", action="store_true",
                        help="the seeds of stages 4-5, which run the stack (needs the bootstraps); default: stages 1-3")
    args = parser.parse_args()
    unknown = set(args.only) - {seed.name for seed in SEEDS}
    if unknown:
        parser.error(f"no such seed: {', '.join(sorted(unknown))}")
    rehearsal.say = lambda text: None  # the verdicts below are the output
    # A seed of stages 4-5 needs the calls of one smoke pass, not every scenario (run_stack.py).
    os.environ["REHEARSAL_QUICK"] = "1"
    base = argparse.Namespace(
        endpoint=args.endpoint, facts=args.facts, config_check=args.config_check, dump_deployed=None, parameter_overrides={}
    )
    failed = 0
    if args.only:
        seeds = [seed for seed in SEEDS if seed.name in args.only]
    else:
        seeds = [seed for seed in SEEDS if (seed.stage >= 4) == args.deployed]
    for seed in seeds:
        started = time.monotonic()
        caught, detail = run_seed(seed, base)
        verdict = "caught" if caught else "MISSED"
        print(f"{verdict:6} {seed.name} ({seed.why}; {time.monotonic() - started:.1f} s)\n      {detail}", flush=True)
        failed += not caught
    print(f"seeded: {len(seeds) - failed} of {len(seeds)} seeded bugs caught", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
