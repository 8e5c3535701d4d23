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

from common import CPU_TARGETS, ROOT, TARGETS, Scale, scale_from_env

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


def _target(row: dict[str, Any]) -> str:
    name = row["operation"]
    if name not in TARGETS or row["clients"] != 8:
        return ""
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
    return target


def _floor_multiple(row: dict[str, Any], floors: dict[tuple[str, int], dict[str, Any]]) -> str:
    floor = floors.get((row["operation"], row["clients"]))
    if not floor or not floor.get("app_cpu_ms") or row.get("app_cpu_ms") is None:
        return ""
    return f"{row['app_cpu_ms'] / floor['app_cpu_ms']:.1f}× ({floor['app_cpu_ms']:.1f})"


def cpu_table(rows: list[dict[str, Any]], floors: dict[tuple[str, int], dict[str, Any]]) -> str:
    """Issue 17's targets: CPU and SQL per request with one client."""
    lines = [
        "| operation (1 client) | app CPU ms | target | SQL exec ms | target | PostgreSQL CPU ms "
        "| app CPU / SQL | floor (its app CPU ms) | main query ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        if row.get("kind") != "operation" or row.get("clients") != 1 or "skipped" in row:
            continue
        if row.get("floor_of"):
            continue
        app_target, sql_target = CPU_TARGETS.get(row["operation"], (None, None))

        def verdict(value: Any, limit: float | None) -> str:
            if limit is None:
                return "—"
            if value is None:
                return f"≤ {limit:g}"
            return f"≤ {limit:g} {'met' if value <= limit else '**missed**'}"

        lines.append(
            f"| {row['label']} | {_fmt(row.get('app_cpu_ms'), 1)} "
            f"| {verdict(row.get('app_cpu_ms'), app_target)} | {_fmt(row.get('sql_ms'), 2)} "
            f"| {verdict(row.get('sql_ms'), sql_target)} | {_fmt(row.get('pg_cpu_ms'), 1)} "
            f"| {_fmt(row.get('app_cpu_per_sql'), 0)}{'×' if row.get('app_cpu_per_sql') else ''} "
            f"| {_floor_multiple(row, floors)} | {_fmt(row.get('main_query_ms'), 2)} |"
        )
    return "\n".join(lines)


def table(rows: list[dict[str, Any]]) -> tuple[str, list[str]]:
    failures: list[str] = []
    floors = {
        (r["floor_of"], r["clients"]): r
        for r in rows
        if r.get("kind") == "operation" and r.get("floor_of") and "skipped" not in r
    }
    lines = [
        "| operation | clients | requests | errors | throughput/s | p50 ms | p95 ms | p99 ms "
        "| app CPU ms/req | PostgreSQL CPU ms/req | SQL ms/req | queries/req | app CPU / SQL "
        "| × floor | target (8 clients) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
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
        ratio = row.get("app_cpu_per_sql")
        lines.append(
            f"| {row['label']} | {row['clients']} | {_fmt(row['requests'])} | {row['errors']} "
            f"| {_fmt(row['throughput'], 1)} | {_fmt(row['p50_ms'], 1)} | {_fmt(row['p95_ms'], 1)} "
            f"| {_fmt(row['p99_ms'], 1)} | {_fmt(row.get('app_cpu_ms'), 1)} "
            f"| {_fmt(row.get('pg_cpu_ms'), 1)} | {_fmt(row.get('sql_ms'), 2)} "
            f"| {_fmt(row.get('queries'), 1)} | {_fmt(ratio, 0)}{'×' if ratio else ''} "
            f"| {_floor_multiple(row, floors).split(' ')[0]} | {_target(row)} |"
        )
        if row["errors"]:
            failures.append(
                f"{name} × {row['clients']}: {row['errors']} error(s), e.g. "
                + "; ".join(row.get("error_samples", []))
            )
    text = "**CPU and SQL per request** (issue 17's targets, one client)\n\n"
    text += cpu_table(rows, floors) + "\n\n**Throughput and latency**\n\n" + "\n".join(lines)
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
    if skipped:
        text += "\n\n**Not measured**\n\n" + "\n".join(skipped)
        if os.environ.get("BENCH_STRICT") == "1":
            failures.extend(s.lstrip("- ") for s in skipped)
    mains = [
        r
        for r in rows
        if r.get("kind") == "operation" and r.get("main_query") and r.get("clients") == 1
    ]
    if mains:
        text += "\n\n<details><summary>Main query of each page (pg_stat_statements)</summary>\n"
        for r in mains:
            query = re.sub(r"\s+", " ", r["main_query"])
            text += (
                f"\n- `{r['operation']}` ({r.get('queries')} statements and "
                f"{r.get('sql_ms')} ms of SQL per request; this one {r.get('main_query_ms')} ms, "
                f"{r.get('main_query_per_request')} per request"
                f"{'; ' + r['main_query_note'] if r.get('main_query_note') else ''}): `{query}`\n"
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
