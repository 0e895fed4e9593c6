#!/usr/bin/env python3
"""Cost per 1M requests of every endpoint, from the measured figures.

usage: cost.py COLD_START_JSON HANDLERS_MD   (both written by tests/bench/run)

Model (every assumption is a constant below; docs/performance.md explains it):
- Lambda bills duration per ms at the function's memory (template.yaml). The
  duration on Lambda is the measured in-process handler time (p50, one of our
  cores, which includes the embedded DynamoDB engine's own work, so it is
  pessimistic), scaled by the CPU share of the memory size (1,769 MB = 1 vCPU),
  plus one DynamoDB round trip per sequential round.
- DynamoDB on demand: request units estimated per endpoint from the data model
  (docs/data-model.md) for pages of 30, in DDB_UNITS.
- Cold starts are not in the per-request cost (rare on a warm service); their
  measured medians are printed for reference.
"""
import json
import math
import re
import sys

import yaml

# Published on-demand prices, us-east-1, as of 2026-11 (USD).
LAMBDA_ARM_GB_SECOND = 0.0000133334
LAMBDA_PER_MILLION = 0.20
HTTP_API_PER_MILLION = 1.00
DDB_READ_UNIT_PER_MILLION = 0.125
DDB_WRITE_UNIT_PER_MILLION = 0.625
FULL_VCPU_MB = 1769
DDB_ROUND_TRIP_MS = 4.0  # in-region request, p50 order of magnitude

# (read units, write units) per request, estimated for pages of 30:
# strongly consistent reads are 1 unit per 4 KB, batch reads 0.5 per item,
# transactions 2 units per item written, items under 1 KB.
DDB_UNITS = {
    "feed": (4 + 16, 0),          # feed query ~12 KB, batch of authors + likes + follows
    "user-info": (2, 0),          # user item, follow edge
    "publish-list": (3 + 16, 0),  # author list query, batch
    "favorite-list": (3 + 31, 0), # like edges query, batch of videos + authors
    "comment-list": (3 + 16, 0),  # comments query, batch of authors
    "relation-follow-list": (3 + 15, 0),
    "relation-follower-list": (3 + 15, 0),
    "relation-friend-list": (3 + 30, 0),  # friends query, batch of users + chat clocks
    "message-chat": (3, 0),
    "favorite-action": (1, 2 * 3),  # edge + video + author counters
    "relation-action": (1, 2 * 4),  # read reverse edge; edge, friend edges, counters
    "comment-action": (0, 2 * 2 + 1),  # comment + video counter; id block amortised
    "message-action": (0, 2 * 6),   # one transaction: guard, message, clock, rate window, both users' checks
}


def memory_sizes(template_path="template.yaml"):
    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    template = yaml.load(open(template_path), Loader=Loader)
    default = template["Globals"]["Function"].get("MemorySize", 128)
    sizes = {}
    for resource in template["Resources"].values():
        # A Fn::ForEach loop is a list (the template's make log groups and alarms, no function).
        if not isinstance(resource, dict) or resource.get("Type") != "AWS::Serverless::Function":
            continue
        binary = (resource.get("Metadata") or {}).get("BuildProperties", {}).get("Binary")
        if binary:
            sizes[binary] = resource["Properties"].get("MemorySize", default)
    return sizes


def handler_rows(path):
    rows = {}
    for line in open(path):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and re.fullmatch(r"[\d.]+", cells[1]):
            rows[cells[0]] = {"p50_us": float(cells[1]), "calls": int(cells[4]), "rounds": int(cells[5])}
    return rows


def main():
    cold = json.load(open(sys.argv[1]))
    handlers = handler_rows(sys.argv[2])
    memory = memory_sizes()
    print("| endpoint | memory (MB) | est. Lambda ms | Lambda $ | API GW $ | DynamoDB $ | total $ per 1M | cold p50 (ms, local) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for label, row in handlers.items():
        function = label.split(" ")[0]
        mb = memory.get(function, 256)
        est_ms = row["p50_us"] / 1000 * FULL_VCPU_MB / mb + row["rounds"] * DDB_ROUND_TRIP_MS
        billed_ms = math.ceil(est_ms)
        lambda_cost = 1e6 * billed_ms / 1000 * mb / 1024 * LAMBDA_ARM_GB_SECOND + LAMBDA_PER_MILLION
        reads, writes = DDB_UNITS.get(function, (0, 0))
        ddb = reads * DDB_READ_UNIT_PER_MILLION + writes * DDB_WRITE_UNIT_PER_MILLION
        total = lambda_cost + HTTP_API_PER_MILLION + ddb
        cold_ms = cold.get(function, {}).get("cold_ms")
        print(f"| {label} | {mb} | {est_ms:.1f} | {lambda_cost:.2f} | {HTTP_API_PER_MILLION:.2f} | {ddb:.2f} | {total:.2f} | "
              f"{'-' if cold_ms is None else f'{cold_ms:.1f}'} |")


if __name__ == "__main__":
    main()
