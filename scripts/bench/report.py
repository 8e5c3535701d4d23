"""The report: a Markdown table per scale in ``docs/benchmarks.md`` (with the machine and the
date), the run's JSON lines under it, and the list of failures that makes ``make bench`` fail."""

from __future__ import annotations

import json
import os
import platform
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from common import ROOT, TARGETS, Scale, scale_from_env

DOC = ROOT / "docs" / "benchmarks.md"


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = next(
            int(line.split()[1])
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        )
        load = Path("/proc/loadavg").read_text().split()[:3]
    except (OSError, StopIteration):
        mem_kb, load = 0, ["?"]
    return (
        f"{cpu}, {os.cpu_count()} cores, {mem_kb / 1024 / 1024:.1f} GiB RAM; "
        f"load average at the end {' '.join(load)}; Python {platform.python_version()}"
    )


def _fmt(value: Any, digits: int = 0) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def table(rows: list[dict[str, Any]]) -> tuple[str, list[str]]:
    failures: list[str] = []
    sql = {r["operation"]: r for r in rows if r.get("kind") == "sql" and "operation" in r}
    single = {
        r["operation"]: r for r in rows if r.get("kind") == "operation" and r.get("clients") == 1
    }
    lines = [
        "| operation | clients | requests | errors | throughput/s | p50 ms | p95 ms | p99 ms "
        "| target (8 clients) | queries/page | main query ms (EXPLAIN ANALYZE) | page p50 / SQL |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
    ]
    skipped = []
    for row in rows:
        if row.get("kind") != "operation":
            continue
        name = row["operation"]
        if "skipped" in row:
            skipped.append(f"- `{name}` ({row.get('label', '')}): {row['skipped']}")
            if row.get("errors"):
                failures.append(f"{name}: {row['skipped']}")
            continue
        target = ""
        if name in TARGETS and row["clients"] == 8:
            rate, p95 = TARGETS[name]
            met = row["throughput"] >= rate and (row["p95_ms"] or 1e9) <= p95
            target = f"≥ {rate}/s, p95 ≤ {p95} ms: {'met' if met else '**missed**'}"
            if not met:
                gaps = []
                if row["throughput"] < rate:
                    gaps.append(f"{row['throughput'] / rate:.0%} of the rate")
                if (row["p95_ms"] or 1e9) > p95:
                    gaps.append(f"p95 {row['p95_ms'] / p95:.1f}×")
                target += f" ({', '.join(gaps)})"
        profile = sql.get(name, {})
        ratio = ""
        if profile.get("explain_ms") and single.get(name, {}).get("p50_ms"):
            ratio = f"{single[name]['p50_ms'] / max(profile['explain_ms'], 0.01):.0f}×"
        lines.append(
            f"| {row['label']} | {row['clients']} | {_fmt(row['requests'])} | {row['errors']} "
            f"| {_fmt(row['throughput'], 1)} | {_fmt(row['p50_ms'], 1)} | {_fmt(row['p95_ms'], 1)} "
            f"| {_fmt(row['p99_ms'], 1)} | {target} | {_fmt(profile.get('queries'))} "
            f"| {_fmt(profile.get('explain_ms'), 2)} | {ratio} |"
        )
        if row["errors"]:
            failures.append(
                f"{name} × {row['clients']}: {row['errors']} error(s), e.g. "
                + "; ".join(row.get("error_samples", []))
            )
    text = "\n".join(lines)
    for row in rows:
        if row.get("kind") == "export":
            if "skipped" in row:
                skipped.append(f"- `csv_export`: {row['skipped']}")
            else:
                text += (
                    f"\n\n**CSV export** ({row['scope']}): {_fmt(row['rows'])} rows, "
                    f"{row['megabytes']} MB in {row['seconds']} s (target ≤ 30 s for 1 M rows); "
                    f"peak worker RSS {row['peak_worker_rss_mb']} MB, growth during the export "
                    f"{row['worker_rss_growth_mb']} MB (target: flat, < 200 MB)."
                )
            if row.get("errors"):
                failures.append(f"csv_export: HTTP {row.get('status')} {row.get('skipped', '')}")
    checks = [r for r in rows if r.get("kind") == "check"]
    if checks:
        text += "\n\n**Correctness**\n"
        for check in checks:
            detail = ", ".join(
                f"{k.replace('_', ' ')} {v}"
                for k, v in check.items()
                if k not in ("kind", "check", "problems", "ok", "note", "scale")
            )
            text += f"\n- {check['check']}: {'ok' if check['ok'] else '**FAILED**'} ({detail})"
            if check.get("problems"):
                text += ": " + "; ".join(check["problems"])
            if not check["ok"]:
                failures.append(f"check {check['check']}: " + "; ".join(check["problems"]))
    sql_notes = [r for r in rows if r.get("kind") == "sql" and "skipped" in r]
    for note in sql_notes:
        skipped.append(f"- SQL profile {note.get('operation', '')}: {note['skipped']}")
    if skipped:
        text += "\n\n**Not measured**\n\n" + "\n".join(skipped)
        if os.environ.get("BENCH_STRICT") == "1":
            failures.extend(s.lstrip("- ") for s in skipped)
    mains = [r for r in rows if r.get("kind") == "sql" and r.get("main_query")]
    if mains:
        text += "\n\n<details><summary>Main query of each page</summary>\n"
        for r in mains:
            query = re.sub(r"\s+", " ", r["main_query"])
            text += (
                f"\n- `{r['operation']}` ({r['queries']} queries, {r['sql_ms_total']} ms of SQL "
                f"in all): `{query}`\n"
            )
        text += "\n</details>"
    return text, failures


def write_report(scale: Scale, rows: list[dict[str, Any]], seconds: float) -> list[str]:
    body, failures = table(rows)
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    section = (
        f"<!-- bench:{scale.name}:start -->\n"
        f"## Latest `{scale.name}` run\n\n"
        f"{now}, {machine()}. Each operation driven {scale.duration:.0f} s per concurrency "
        f"level; whole run {seconds:.0f} s.\n\n{body}\n\n"
        "<details><summary>JSON lines</summary>\n\n```jsonl\n"
        + "\n".join(json.dumps(r, ensure_ascii=False) for r in rows)
        + f"\n```\n\n</details>\n<!-- bench:{scale.name}:end -->"
    )
    text = DOC.read_text() if DOC.exists() else "# Benchmarks\n"
    pattern = re.compile(
        rf"<!-- bench:{scale.name}:start -->.*?<!-- bench:{scale.name}:end -->", re.S
    )
    text = pattern.sub(lambda _m: section, text) if pattern.search(text) else (
        text.rstrip() + "\n\n" + section + "\n"
    )  # fmt: skip
    DOC.write_text(text)
    print("\n" + body + "\n", flush=True)
    return failures


if __name__ == "__main__":  # re-render from a results file: report.py results.jsonl
    results = [json.loads(line) for line in Path(sys.argv[1]).read_text().splitlines() if line]
    sys.exit(1 if write_report(scale_from_env(), results, 0.0) else 0)
