"""pip-audit's fallback (.ci/audit_pins.py): which pins PyPI's project JSON can audit, and how."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / ".ci" / "audit_pins.py"
_spec = importlib.util.spec_from_file_location("audit_pins", SCRIPT)
audit_pins = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(audit_pins)

ADVISORY = {
    "id": "PYSEC-2099-1",
    "aliases": ["CVE-2099-1234", "GHSA-xxxx-yyyy-zzzz"],
    "fixed_in": ["2.0.1"],
}


def project(latest, vulnerabilities=()):
    """PyPI's project JSON as far as the audit reads it: the latest release and its advisories."""
    return {"info": {"version": latest}, "vulnerabilities": list(vulnerabilities)}


def pypi(**documents):
    """A fetch function answering from the given documents (by project name), offline."""

    def fetch(name):
        if name not in documents:
            raise OSError("unreachable")
        return documents[name]

    return fetch


def test_a_pin_at_the_latest_release_with_an_advisory_fails_with_its_ids(capsys):
    status = audit_pins.audit({"web": "2.0.0"}, pypi(web=project("2.0.0", [ADVISORY])))
    out = capsys.readouterr().out
    assert status == 1
    assert "VULNERABLE: web 2.0.0: PYSEC-2099-1 (CVE-2099-1234, GHSA-xxxx-yyyy-zzzz)" in out
    assert "fixed in 2.0.1" in out
    assert "audited 1 of 1 packages: 1 known vulnerabilities" in out


def test_a_pin_at_the_latest_release_without_advisories_passes(capsys):
    status = audit_pins.audit({"web": "2.0.0"}, pypi(web=project("2.0.0")))
    assert status == 0
    assert "audited 1 of 1 packages: 0 known vulnerabilities" in capsys.readouterr().out


def test_a_withdrawn_advisory_is_not_a_vulnerability(capsys):
    withdrawn = {**ADVISORY, "withdrawn": "2099-02-01T00:00:00"}
    assert audit_pins.audit({"web": "2.0.0"}, pypi(web=project("2.0.0", [withdrawn]))) == 0
    assert "audited 1 of 1 packages: 0 known vulnerabilities" in capsys.readouterr().out


def test_an_outdated_pin_is_not_audited_even_when_the_latest_release_has_advisories(capsys):
    # The latest release's advisories say nothing sound about an older one: no pass, no fail.
    status = audit_pins.audit({"web": "1.9.0"}, pypi(web=project("2.0.0", [ADVISORY])))
    out = capsys.readouterr().out
    assert status == 0
    assert "not audited: web 1.9.0: pinned 1.9.0, PyPI's latest is 2.0.0" in out
    assert "VULNERABLE" not in out
    assert "audited 0 of 1 packages: 0 known vulnerabilities" in out


def test_an_unreachable_or_incomplete_answer_is_not_audited_and_does_not_fail(capsys):
    no_list = {"info": {"version": "1.0"}}
    status = audit_pins.audit(
        {"gone": "1.0", "bare": "1.0", "ok": "3.0"}, pypi(bare=no_list, ok=project("3.0"))
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "not audited: gone 1.0: PyPI did not answer (unreachable)" in out
    assert "not audited: bare 1.0: PyPI's answer has no vulnerabilities list" in out
    assert "audited 1 of 3 packages: 0 known vulnerabilities" in out


def test_the_audited_set_is_the_pins_and_what_they_require_with_the_extras_asked_for():
    installed = {
        "psycopg": ("3.3.9", ['psycopg-binary; extra == "binary"', 'wheel; extra == "dev"']),
        "psycopg-binary": ("3.3.9", []),
        "pip-audit": ("2.10.1", ["pip-api>=0.0.28", "pip-audit[doc] ; extra == 'dev'"]),
        "pip-api": ("0.0.35", ["pip"]),
        "pip": ("26.3", []),
        "wheel": ("0.45.0", []),
        "setuptools": ("65.5.0", []),
    }
    roots = [audit_pins.parse(line) for line in ("psycopg[binary]==3.3.9", "pip-audit==2.10.1")]
    assert audit_pins.pinned_closure(roots, installed) == {
        "psycopg": "3.3.9",
        "psycopg-binary": "3.3.9",
        "pip-audit": "2.10.1",
        "pip-api": "0.0.35",
        "pip": "26.3",
    }


def test_requirement_lines_are_read_through_dash_r_and_comments_are_skipped(tmp_path):
    (tmp_path / "base.txt").write_text("# runtime\nFlask==3.1.3\nboolean.py==5.0  # why\n")
    (tmp_path / "dev.txt").write_text("-r base.txt\n\npytest==9.2.0\n")
    lines = audit_pins.requirement_lines(tmp_path / "dev.txt")
    assert [r for r in map(audit_pins.parse, lines) if r] == [
        ("flask", set()),
        ("boolean-py", set()),
        ("pytest", set()),
    ]


def test_a_pin_that_is_not_installed_is_not_audited(capsys):
    assert audit_pins.audit({"absent": None}, pypi()) == 0
    assert "not audited: absent: pinned but not installed here" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["no-such-file.txt"], ["a.txt", "b.txt"]])
def test_a_usage_error_exits_2(argv):
    assert audit_pins.main(argv) == 2
