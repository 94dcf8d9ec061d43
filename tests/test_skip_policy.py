"""The skip rule itself (tests/skip_policy.py): in CI a skip that is not declared fails the
run, a declared one does not, and outside CI skips are only reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.skip_policy import ALLOWED, FILE_ENV, load_allowed

SUITE = """
import pytest

def test_runs():
    pass

def test_needs_a_gpu():
    pytest.skip("no GPU here")
"""


@pytest.fixture
def inner(pytester: pytest.Pytester) -> pytest.Pytester:
    """An empty project for an inner pytest run (with the asyncio plugin's setting)."""
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    return pytester


@pytest.fixture
def suite(inner: pytest.Pytester) -> pytest.Pytester:
    inner.makepyfile(test_inner=SUITE)
    return inner


def _allow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    listed = tmp_path / "allowed.txt"
    listed.write_text(text)
    monkeypatch.setenv(FILE_ENV, str(listed))


def test_in_ci_an_undeclared_skip_fails_the_run(
    suite: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    _allow(tmp_path, monkeypatch, "# nothing allowed\n")
    result = suite.runpytest_inprocess("-p", "tests.skip_policy")
    result.assert_outcomes(passed=1, skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["*skips not in tests/allowed_skips.txt*", "SKIPPED test_inner.py::test_needs_a_gpu: *GPU*"]
    )


def test_in_ci_a_declared_skip_passes(
    suite: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "1")
    _allow(tmp_path, monkeypatch, "test_inner.py::test_needs_*  | GPU-only, CI has none\n")
    result = suite.runpytest_inprocess("-p", "tests.skip_policy")
    assert result.ret == pytest.ExitCode.OK


def test_outside_ci_skips_are_reported_not_enforced(
    suite: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    result = suite.runpytest_inprocess("-p", "tests.skip_policy")
    result.assert_outcomes(passed=1, skipped=1)
    assert result.ret == pytest.ExitCode.OK


def test_a_module_skipped_at_collection_counts(
    inner: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``importorskip`` and module-level skips happen at collection, not in a test (and a
    run whose every module was skipped still fails)."""
    inner.makepyfile(test_gone="import pytest\npytest.importorskip('no_such_module_xyz')\n")
    monkeypatch.setenv("CI", "1")
    _allow(tmp_path, monkeypatch, "")
    result = inner.runpytest_inprocess("-p", "tests.skip_policy")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["SKIPPED test_gone.py: *no_such_module_xyz*"])


def test_a_line_without_a_reason_is_refused(tmp_path: Path) -> None:
    listed = tmp_path / "allowed.txt"
    listed.write_text("tests/test_x.py::*\n")
    with pytest.raises(pytest.UsageError, match="<reason>"):
        load_allowed(listed)


def test_the_shipped_list_parses() -> None:
    """The list CI reads is well formed (and, today, empty: see its header)."""
    assert load_allowed(ALLOWED) == []
