"""Known vulnerabilities in the installed pins, from PyPI's project JSON (pip-audit's fallback).

pip-audit asks PyPI for `/pypi/<name>/<version>/json` or OSV; where neither answers, this asks
`/pypi/<name>/json`, whose `vulnerabilities` are those of the project's latest release only.
So a pin equal to the latest release is audited; any other pin is reported as not audited,
because the latest release's list says nothing sound about an older one (a vulnerability may
have been fixed before the latest, or introduced after the pin).

Audited: what requirements-dev.txt pins and everything those pins require, as installed in the
interpreter running this script (run it with .venv/bin/python). So pip is audited (pip-audit
requires it), while setuptools, which `python -m venv` installs and no pin requires, is not.

Usage: .venv/bin/python .ci/audit_pins.py [requirements file]
Exit 1 when a known vulnerability is found, 2 on a usage error, 0 otherwise.
"""

import importlib.metadata
import json
import re
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENT = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")
EXTRA_MARKER = re.compile(r"""extra\s*==\s*["']([^"']+)["']""")


def normalize(name):
    """The PEP 503 form of a project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse(line):
    """(name, extras) of a requirement line, or None for a blank, comment or option line."""
    match = REQUIREMENT.match(line.split("#")[0])
    if not match:
        return None
    extras = {normalize(e) for e in (match[2] or "").split(",") if e.strip()}
    return normalize(match[1]), extras


def requirement_lines(path):
    """The lines of a requirements file, following `-r other.txt`."""
    for line in Path(path).read_text().splitlines():
        if line.startswith("-r "):
            yield from requirement_lines(Path(path).parent / line[3:].strip())
        else:
            yield line


def pinned_closure(roots, installed):
    """{name: version} of the installed roots and, transitively, what they require.

    `installed` maps a normalized name to (version, Requires-Dist lines). A requirement that
    holds only for an extra is followed when that extra was asked for; other markers are
    ignored, so an installed distribution is audited rather than missed.
    """
    asked = {}
    todo = list(roots)
    while todo:
        name, extras = todo.pop()
        if name not in installed or (name in asked and extras <= asked[name]):
            continue
        asked[name] = asked.get(name, set()) | extras
        for line in installed[name][1]:
            requirement, _, marker = line.partition(";")
            extra = EXTRA_MARKER.search(marker)
            if extra is None or normalize(extra[1]) in asked[name]:
                todo.append(parse(requirement))
    return {name: installed[name][0] for name in asked}


def verdict(version, project):
    """(vulnerabilities, None) if PyPI's project document audits this version, else (None, why)."""
    latest = project.get("info", {}).get("version")
    if latest != version:
        return None, f"pinned {version}, PyPI's latest is {latest}"
    if "vulnerabilities" not in project:
        return None, "PyPI's answer has no vulnerabilities list"
    # PyPI keeps withdrawn advisories in the list, marked; pip-audit ignores them too.
    return [v for v in project["vulnerabilities"] if not v.get("withdrawn")], None


def fetch_project(name):
    """PyPI's JSON document for a project (its latest release)."""
    url = f"https://pypi.org/pypi/{name}/json"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def check(name, version, fetch):
    """(vulnerabilities, None) for a pin PyPI audits, else (None, why it was not audited)."""
    if version is None:
        return None, "pinned but not installed here"
    try:
        project = fetch(name)
    except (OSError, ValueError) as error:
        return None, f"PyPI did not answer ({error})"
    return verdict(version, project)


def audit(pins, fetch=fetch_project):
    """Print what PyPI says about each pin and a summary; return the exit status."""
    audited = found = 0
    for name, version in sorted(pins.items()):
        vulnerabilities, why = check(name, version, fetch)
        if vulnerabilities is None:
            print(f"not audited: {name} {version or ''}".rstrip() + f": {why}")
            continue
        audited += 1
        found += len(vulnerabilities)
        for vulnerability in vulnerabilities:
            vid = vulnerability.get("id")
            aliases = ", ".join(vulnerability.get("aliases") or []) or "no aliases"
            fixed = ", ".join(vulnerability.get("fixed_in") or []) or "no fixed release"
            print(f"VULNERABLE: {name} {version}: {vid} ({aliases}); fixed in {fixed}")
    print(f"audited {audited} of {len(pins)} packages: {found} known vulnerabilities")
    return 1 if found else 0


def main(argv):
    """Audit the installed closure of a requirements file (requirements-dev.txt by default)."""
    if len(argv) > 1 or (argv and not Path(argv[0]).is_file()):
        print("usage: audit_pins.py [requirements file]", file=sys.stderr)
        return 2
    path = argv[0] if argv else ROOT / "requirements-dev.txt"
    roots = [r for r in map(parse, requirement_lines(path)) if r]
    installed = {
        normalize(d.metadata["Name"]): (d.version, d.requires or [])
        for d in importlib.metadata.distributions()
    }
    pins = {name: None for name, _ in roots} | pinned_closure(roots, installed)
    return audit(pins)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
