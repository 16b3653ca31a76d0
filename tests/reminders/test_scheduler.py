"""The scheduler process: its jobs, and that web workers never start one."""

import datetime as dt

from apscheduler.triggers.cron import CronTrigger

from crm.reminders import scheduler


def test_scheduler_has_minute_and_daily_digest_jobs(app, db, rules):
    db.session.commit()  # the job opens its own app context and session
    sched = scheduler.build_scheduler(app)
    jobs = {job.id: job for job in sched.get_jobs()}
    assert {"plan_and_dispatch", "daily_digest"} <= set(jobs)
    for job in jobs.values():
        assert job.coalesce is True
        assert job.max_instances == 1
        assert job.misfire_grace_time >= 600
    assert jobs["plan_and_dispatch"].trigger.interval == dt.timedelta(minutes=1)
    digest = jobs["daily_digest"].trigger
    assert isinstance(digest, CronTrigger)
    assert str(digest.timezone) == "Europe/Oslo"
    assert {f.name: str(f) for f in digest.fields}["hour"] == "7"
    assert not sched.running


def test_minute_job_sends_due_mail_in_its_own_app_context(app, db, rules, inbox, make_user):
    from crm.followups.services import create_followup

    boss = make_user(email="boss@example.org")
    kari = make_user(email="kari@example.org")
    create_followup(title="Photos", assignee_id=kari.id, actor=boss)
    db.session.commit()  # the job opens its own app context and session
    scheduler.run_minutely(app)
    assert len(inbox.to("kari@example.org")) == 1


def test_web_app_starts_no_scheduler_and_the_cli_has_the_commands(app, runner):
    import threading

    assert not [t for t in threading.enumerate() if "APScheduler" in t.name]
    assert runner.invoke(args=["crm", "scheduler", "--help"]).exit_code == 0
    assert runner.invoke(args=["crm", "send-due", "--help"]).exit_code == 0
