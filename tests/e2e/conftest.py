"""Browser tests: the app served on 127.0.0.1 with a database of its own, driven by Chromium.

Every page a test loads is checked with axe-core (WCAG 2.0/2.1, A and AA); a test fails on
any violation, on a script error and on a page it loaded but did not check.
`pytest --screenshots` also saves a PNG of each main page into docs/screenshots/.
"""

import json
import logging
import os
import shutil
import threading
import uuid
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from config import BASE_DIR, TestConfig
from tests.conftest import PASSWORD, vars_of
from tests.databases import own_database

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_JS = Path(__file__).parent / "vendor" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
SCREENSHOTS = BASE_DIR / "docs" / "screenshots"
HERE = Path(__file__).parent
ADMIN_EMAIL = "admin@vertskap.test"


def pytest_collection_modifyitems(config, items):
    """Mark everything here `e2e`; skip it (or fail, in CI) when there is no Chromium."""
    mine = [item for item in items if HERE in Path(item.path).parents]
    have_browser = Path(CHROMIUM).exists() or shutil.which("chromium")
    required = os.environ.get("VERTSKAP_REQUIRE_BROWSER") == "1"
    for item in mine:
        item.add_marker(pytest.mark.e2e)
        if not have_browser and not required:
            item.add_marker(
                pytest.mark.skip(
                    reason=f"no Chromium at {CHROMIUM} (apt-get install chromium); "
                    "set VERTSKAP_REQUIRE_BROWSER=1 to make this a failure"
                )
            )


@pytest.fixture(scope="session")
def e2e_database_uri(tmp_path_factory):
    """A database for the served app alone (the other tests empty theirs after each test)."""
    with own_database("vertskap_e2e", tmp_path_factory.mktemp("e2e") / "e2e.db") as uri:
        yield uri


@pytest.fixture(scope="session")
def live_app(e2e_database_uri):
    """The app with real CSRF protection, its schema and a known admin user."""
    from crm import create_app
    from crm.auth.services import create_user
    from crm.extensions import db

    config = {
        **vars_of(TestConfig),
        "SQLALCHEMY_DATABASE_URI": e2e_database_uri,
        "WTF_CSRF_ENABLED": True,
        "TESTING": False,
    }
    app = create_app(config)
    with app.app_context():
        db.create_all()
        create_user(email=ADMIN_EMAIL, password=PASSWORD, role="admin", name="Ingrid Admin")
        db.session.commit()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def base_url(live_app):
    """The served app's address; a werkzeug server in a thread, on a free port."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, headless, through Playwright (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"VERTSKAP_REQUIRE_BROWSER=1 but there is no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageChecker:
    """Runs axe on each page a test loads and collects script errors."""

    def __init__(self, page):
        self.page = page
        self.loaded: list[str] = []
        self.errors: list[str] = []
        page.on("load", lambda p: self.loaded.append(p.url))
        page.on("pageerror", lambda error: self.errors.append(f"script error: {error}"))
        page.on("console", self._console)
        page.on("response", self._response)

    def _console(self, message):
        # CSP refusals are reported on the console, not as exceptions. A failed load is
        # reported there too, but by _response, which knows what failed (a test may open a
        # missing page on purpose).
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            text = message.text if len(message.text) < 400 else message.text[:400] + " …"
            self.errors.append(f"console error on {self.page.url}: {text}")

    def _response(self, response):
        if response.status >= 400 and response.request.resource_type != "document":
            self.errors.append(f"{response.status} for {response.url} (on {self.page.url})")

    def check(self) -> None:
        """Run axe on the current page; fail on violations and on pages loaded but not checked."""
        skipped, self.loaded = self.loaded[:-1], []
        assert not skipped, f"pages loaded without an accessibility check: {skipped}"
        if not self.page.evaluate("() => typeof window.axe !== 'undefined'"):
            # evaluate() runs outside the page's CSP, which forbids injected <script> tags
            self.page.evaluate(AXE_JS.read_text(encoding="utf-8"))
        result = self.page.evaluate(
            "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags},"
            " resultTypes: ['violations']})",
            AXE_TAGS,
        )
        violations = result["violations"]
        assert not violations, f"axe found problems on {self.page.url}:\n" + format_violations(
            violations
        )

    def finish(self) -> None:
        """At the end of a test: check the last page if nobody did, then report script errors."""
        if self.loaded:
            self.check()
        assert not self.errors, "\n".join(self.errors)


def format_violations(violations: list[dict]) -> str:
    """axe's violations as readable lines: rule, impact, help, and each failing element."""
    lines = []
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} [{v['helpUrl']}]")
        for node in v["nodes"][:10]:
            target = json.dumps(node["target"])
            summary = (node.get("failureSummary") or "").replace("\n", " / ")
            lines.append(f"    {target}: {summary}")
            lines.append(f"      {node['html'][:200]}")
    return "\n".join(lines)


@pytest.fixture
def context(browser, base_url):
    """A fresh browser profile (no cookies) per test, in Norwegian unless a test says otherwise."""
    context = browser.new_context(base_url=base_url, locale="nb-NO")
    context.set_default_timeout(10_000)
    yield context
    context.close()


@pytest.fixture
def page(context):
    """A tab whose every loaded page gets an axe check (see PageChecker)."""
    page = context.new_page()
    checker = PageChecker(page)
    page.checker = checker
    yield page
    checker.finish()


def visit(page, path: str):
    """Open a path and check the page with axe."""
    response = page.goto(path)
    page.checker.check()
    return response


def submit(page, locator) -> None:
    """Click a button that loads a new page (a form's submit), wait for it, check it with axe."""
    with page.expect_navigation():
        locator.click()
    page.checker.check()


def press_and_load(page, key: str) -> None:
    """Press a key that loads a new page (Enter in a form), wait for it, check it with axe."""
    with page.expect_navigation():
        page.keyboard.press(key)
    page.checker.check()


def log_in(page, email: str = ADMIN_EMAIL, password: str = PASSWORD) -> None:
    """Log in through the login form."""
    visit(page, "/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    submit(page, page.locator("main form button[type=submit]"))


@pytest.fixture
def admin_page(page):
    """A tab logged in as the admin."""
    log_in(page)
    return page


@pytest.fixture
def screenshot(request):
    """`screenshot(page, "name")` saves docs/screenshots/name.png when run with --screenshots."""

    def take(page, name: str) -> None:
        if request.config.getoption("screenshots"):
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)

    return take


@pytest.fixture
def make_user_in_app(live_app):
    """Create a staff user in the served app's database; returns its email."""
    from crm.auth.services import create_user
    from crm.extensions import db

    def make(role: str = "coordinator", name: str = "Kari Koordinator") -> str:
        email = f"{role}-{uuid.uuid4().hex[:6]}@vertskap.test"
        with live_app.app_context():
            create_user(email=email, password=PASSWORD, role=role, name=name)
            db.session.commit()
        return email

    return make
