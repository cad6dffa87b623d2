"""The reliability suite's shared pieces: the report every test adds its figures to, written to
`docs/reliability.md` when the session ends if pytest ran with `--write-report` (a tracked file:
never by a plain test run), and the findings (xfail tests that prove a bug)."""

from __future__ import annotations

import pytest

from devkit.report import Report

REPORT = Report()
_FINDINGS: dict[str, tuple[list[str], set[str]]] = {}
"""Reason -> (test ids, statuses): one row per bug, however many parameters prove it."""

_FINDINGS_INTRO = (
    "Each finding is a test marked `xfail(strict=True)` that fails today, proving the bug. When the "
    "bug is fixed the test passes, strict xfail turns that into a failure, and the marker must go."
)


@pytest.fixture(scope="session")
def report() -> Report:
    return REPORT


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
        return
    reason = getattr(report, "wasxfail", None)
    if reason is not None:
        status = "open: fails as described"
    elif report.outcome == "failed" and "[XPASS(strict)]" in str(report.longrepr):
        reason = str(report.longrepr).split("[XPASS(strict)]", 1)[1].strip()
        status = "passes now: fixed? remove the xfail marker"
    else:
        return
    tests, statuses = _FINDINGS.setdefault(reason, ([], set()))
    module = report.nodeid.split("::", 1)[0].rsplit("/", 1)[-1]
    name = report.nodeid.split("::", 1)[1].split("[", 1)[0]
    if f"{module}::{name}" not in tests:
        tests.append(f"{module}::{name}")
    statuses.add(status)


def pytest_sessionfinish(session: pytest.Session) -> None:
    if not session.config.getoption("--write-report"):
        return
    if REPORT:  # this run measured something: its findings replace the last ones, none included
        intro = _FINDINGS_INTRO if _FINDINGS else _FINDINGS_INTRO + " None is open after this run."
        header = ["finding", "proved by", "status"] if _FINDINGS else None
        findings = REPORT.section("findings", "Findings", intro, header)
        for reason, (tests, statuses) in _FINDINGS.items():
            findings.add(reason, ", ".join(f"`{t}`" for t in tests), "; ".join(sorted(statuses)))
    REPORT.write()
