"""Login throttling: more than 10 failures per account, or 100 per address, in 15 minutes → 429."""

import datetime as dt

from sqlalchemy import func, select, update

from crm.auth.models import LoginAttempt
from crm.db import utcnow
from tests.conftest import PASSWORD

WRONG = "wrong-password-123"


def attempt(client, email, password=WRONG, ip="198.51.100.1"):
    return client.post(
        "/login",
        data={"email": email, "password": password},
        environ_base={"REMOTE_ADDR": ip},
    )


def test_eleventh_wrong_password_for_one_account_is_429_from_any_address(client, make_user):
    user = make_user()
    for i in range(10):
        assert attempt(client, user.email, ip=f"198.51.100.{i + 1}").status_code == 200
    response = attempt(client, user.email, ip="203.0.113.50")
    assert response.status_code == 429
    assert "Too many failed attempts" in response.text or "For mange" in response.text
    assert response.headers["Retry-After"] == "900"
    # the right password does not get through either while the account is throttled
    assert attempt(client, user.email, PASSWORD, ip="203.0.113.51").status_code == 429
    assert client.get("/").status_code == 302


def test_one_address_is_closed_after_more_failures_than_one_account(client, app, make_user):
    """An office shares one address: one person's typos do not lock the others out."""
    app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"] = 30
    user = make_user()
    for i in range(11):  # one colleague's account is closed ...
        assert attempt(client, "typos@example.org").status_code == (200 if i < 10 else 429)
    assert attempt(client, user.email, PASSWORD).status_code == 302  # ... not the office
    client.post("/logout")
    for i in range(20):  # guesses spread over accounts: with the typos, the address's 30
        assert attempt(client, f"guess{i}@example.org").status_code == 200
    assert attempt(client, "guess20@example.org").status_code == 429
    assert attempt(client, user.email, PASSWORD).status_code == 429
    # another address is not affected
    assert attempt(client, user.email, PASSWORD, ip="192.0.2.7").status_code == 302


def test_unknown_email_is_throttled_exactly_like_a_known_one(client, make_user):
    user = make_user(email="known@example.org")
    known = [attempt(client, user.email, ip=f"10.0.0.{i}") for i in range(11)]
    unknown = [attempt(client, "unknown@example.org", ip=f"10.0.1.{i}") for i in range(11)]
    assert [r.status_code for r in known] == [r.status_code for r in unknown]
    assert known[-1].status_code == 429
    assert known[-1].text.replace(user.email, "unknown@example.org") == unknown[-1].text


def test_counts_are_in_the_database_and_old_ones_expire(client, db, make_user):
    user = make_user()
    for i in range(10):
        attempt(client, user.email, ip=f"10.1.0.{i}")
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 10
    # another worker or host sees the same rows; 16 minutes later they no longer count
    db.session.execute(update(LoginAttempt).values(at=utcnow() - dt.timedelta(minutes=16)))
    db.session.commit()
    assert attempt(client, user.email, ip="10.1.1.1").status_code == 200
    # and the old rows were pruned when the new failure was counted
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) == 1


def test_successful_login_resets_the_account_count(client, db, make_user):
    user = make_user()
    for i in range(9):
        attempt(client, user.email, ip=f"10.2.0.{i}")
    assert attempt(client, user.email, PASSWORD, ip="10.2.1.1").status_code == 302
    assert (
        db.session.scalar(
            select(func.count()).select_from(LoginAttempt).where(LoginAttempt.email == user.email)
        )
        == 0
    )


def test_email_is_counted_case_insensitively(client, make_user):
    make_user(email="kari@example.org")
    for i in range(10):
        attempt(client, "KARI@example.org" if i % 2 else "kari@example.org ", ip=f"10.3.0.{i}")
    assert attempt(client, "Kari@Example.org", ip="10.3.1.1").status_code == 429


def test_a_burst_of_guesses_gets_no_more_than_the_limit_checked(app, db, make_user):
    """Guesses sent at once (one per worker) cannot all slip in under the limit."""
    from concurrent.futures import ThreadPoolExecutor

    email = make_user().email
    db.session.rollback()  # on SQLite this thread's transaction would hold the write lock

    def guess(i):
        with app.test_client() as client:
            return attempt(client, email, ip=f"198.51.100.{i}").status_code

    with ThreadPoolExecutor(max_workers=12) as pool:
        codes = list(pool.map(guess, range(30)))
    assert codes.count(200) <= 10  # passwords checked: at most the limit
    assert codes.count(429) >= 20 and set(codes) <= {200, 429}
    assert db.session.scalar(select(func.count()).select_from(LoginAttempt)) <= 10
