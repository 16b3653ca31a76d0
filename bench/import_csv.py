"""Time a 10,000-row contacts CSV import (preview, then the all-or-nothing import).

    .venv/bin/python bench/import_csv.py                     # SQLite file in a temp dir
    .venv/bin/python bench/import_csv.py --rows 10000 --postgres postgresql://postgres@127.0.0.1:5432/postgres

Builds a fresh database, adds 50 organisations, writes a semicolon-separated UTF-8 file with
a BOM (as Excel saves it) with names in æøå, emails, organisation and role columns, and times
`preview_import` and `import_file` (the same services the web page and `flask crm import-csv`
use). Prints a Markdown table row.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIRST = ["Åse", "Bjørn", "Kari", "Ola", "Astrid", "Jürgen", "Marie", "Nils", "Siri", "Øystein"]
LAST = ["Ødegård", "Sæther", "Nordmann", "Lindqvist", "Hansen", "Berg", "Dahl", "Haugen"]


def make_csv(rows: int, organisations: list[str]) -> bytes:
    """A contacts file like the office's spreadsheet: nb headers, ; separated, BOM."""
    lines = ["Fornavn;Etternavn;E-post;Telefon;Organisasjon;Rolle;Nasjonalitet;Stikkord"]
    for i in range(rows):
        lines.append(
            ";".join(
                [
                    FIRST[i % len(FIRST)],
                    f"{LAST[i % len(LAST)]} {i}",
                    f"person{i}@example.org",
                    f"+47 9{i:07d}",
                    organisations[i % len(organisations)],
                    "Rådgiver",
                    "Norge" if i % 3 else "SE",
                    "import, bench",
                ]
            )
        )
    return ("\ufeff" + "\r\n".join(lines) + "\r\n").encode("utf-8")


def main() -> None:
    """Run the benchmark and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (a scratch database is made)")
    args = parser.parse_args()

    import sqlalchemy as sa

    from config import TestConfig, database_url
    from crm import create_app
    from crm.extensions import db

    tmp = Path(tempfile.mkdtemp())
    admin = None
    if args.postgres:
        url = sa.engine.make_url(database_url(args.postgres))
        name = f"vertskap_bench_import_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        uri = url.set(database=name).render_as_string(hide_password=False)
    else:
        uri = f"sqlite:///{tmp / 'bench.db'}"
    settings = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    app = create_app({**settings, "SQLALCHEMY_DATABASE_URI": uri, "TESTING": False})
    try:
        with app.app_context(), app.test_request_context():
            from crm.imports import services
            from crm.organisations.services import create_organisation

            db.create_all()
            names = [f"Partner {i} AS" for i in range(50)]
            for org in names:
                create_organisation(name=org, kind="business", country="NO")
            db.session.commit()
            content = make_csv(args.rows, names)

            start = time.perf_counter()
            _parsed, _mapping, preview = services.preview_import("contacts", content)
            assert preview.count("new") == args.rows, preview.bad_rows[:3]
            preview_s = time.perf_counter() - start
            db.session.rollback()

            start = time.perf_counter()
            result = services.import_file("contacts", content)
            db.session.commit()
            import_s = time.perf_counter() - start
            assert result.count("new") == args.rows, result.count("error")
            db.session.remove()
            db.engine.dispose()
    finally:
        if admin is not None:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        shutil.rmtree(tmp, ignore_errors=True)
    database = "PostgreSQL" if args.postgres else "SQLite"
    print("| database | rows | preview (s) | import (s) | rows/s |")
    print("|---|---|---|---|---|")
    print(
        f"| {database} | {args.rows:,} | {preview_s:.1f} | {import_s:.1f} "
        f"| {args.rows / import_s:,.0f} |"
    )
    print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)")


if __name__ == "__main__":
    main()
