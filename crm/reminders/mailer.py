"""Building and sending mail: rendering in the recipient's language, MIME, SMTP, .ics.

Pure helpers plus a small SMTP sender; the jobs in `jobs.py` decide what to send and when.
"""

import datetime as dt
import hashlib
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale


@dataclass
class RenderedMail:
    """Subject and both bodies of one mail, already in the recipient's language."""

    subject: str
    text: str
    html: str


def render_mail(name: str, language: str, subject, **context) -> RenderedMail:
    """Render `templates/email/<name>.txt|html` and the subject (a callable) in `language`."""
    with force_locale(language):
        return RenderedMail(
            subject=str(subject()),
            text=render_template(f"email/{name}.txt", language=language, **context),
            html=render_template(f"email/{name}.html", language=language, **context),
        )


def record_url(endpoint: str, **values) -> str:
    """An absolute link into the app built from BASE_URL (works without a request)."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https"
    )
    return adapter.build(endpoint, values, force_external=True)


def mail_domain() -> str:
    """The domain of MAIL_FROM, used in Message-IDs."""
    address = parseaddr(current_app.config["MAIL_FROM"])[1]
    return address.rpartition("@")[2] or "localhost"


def message_id_for(idempotency_key: str) -> str:
    """A Message-ID derived from the outbox row's idempotency key (stable across retries)."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    return f"<{digest}@{mail_domain()}>"


def build_message(
    *,
    to_email: str,
    to_name: str,
    language: str,
    subject: str,
    text: str,
    html: str,
    idempotency_key: str,
    sent_at: dt.datetime,
    ics: bytes | None = None,
    unsubscribe_url: str | None = None,
) -> EmailMessage:
    """A multipart (text + HTML) message, with an optional .ics and one-click unsubscribe."""
    msg = EmailMessage()
    msg["From"] = current_app.config["MAIL_FROM"]
    msg["To"] = formataddr((to_name, to_email)) if to_name else to_email
    msg["Subject"] = subject
    msg["Date"] = format_datetime(sent_at)
    msg["Message-ID"] = message_id_for(idempotency_key)
    msg["Auto-Submitted"] = "auto-generated"
    if unsubscribe_url:
        # RFC 8058: mail clients POST "List-Unsubscribe=One-Click" to the URL.
        msg["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    if ics is not None:
        msg.add_attachment(
            ics,
            maintype="text",
            subtype="calendar",
            filename="event.ics",
            params={"method": "PUBLISH", "charset": "utf-8"},
        )
    # Set last: set_content() and add_alternative() move or drop Content-* headers.
    msg["Content-Language"] = language
    return msg


def calendar_attachment(event) -> bytes:
    """The event's .ics: the calendars feature's when it exists, else our minimal one."""
    try:
        from crm.calendars.ical import event_ics as calendars_event_ics
    except ImportError:
        return event_ics(event)
    return calendars_event_ics(event)


def event_ics(event) -> bytes:
    """A minimal VCALENDAR with one VEVENT (stand-in until crm.calendars.ical exists)."""
    from icalendar import Calendar
    from icalendar import Event as VEvent

    cal = Calendar()
    cal.add("prodid", "-//Vertskap//Reminders//EN")
    cal.add("version", "2.0")
    cal.add("method", "PUBLISH")
    vevent = VEvent()
    vevent.add("uid", event.uid)
    vevent.add("dtstamp", dt.datetime.now(dt.UTC))
    vevent.add("sequence", event.sequence or 0)
    vevent.add("summary", event.title)
    if event.is_all_day and event.start_on:
        vevent.add("dtstart", event.start_on)
        vevent.add("dtend", (event.end_on or event.start_on) + dt.timedelta(days=1))
    else:
        vevent.add("dtstart", event.local_start)
        vevent.add("dtend", event.local_end)
    if event.venue:
        vevent.add("location", event.venue)
    status = getattr(event.status, "value", event.status)
    vevent.add("status", "CANCELLED" if status == "cancelled" else "CONFIRMED")
    cal.add_component(vevent)
    if not event.is_all_day:
        year = event.starts_at.year
        cal.add_missing_timezones(
            first_date=dt.date(year - 1, 1, 1), last_date=dt.date(year + 2, 1, 1)
        )
    return cal.to_ical()


class SmtpSender:
    """One SMTP connection for a batch, opened on the first message.

    After a connection-level failure the rest of the batch fails at once with the same
    error instead of waiting for a timeout per message.
    """

    def __init__(self, config) -> None:
        self.host = config["SMTP_HOST"]
        self.port = int(config["SMTP_PORT"])
        self.user = config.get("SMTP_USER") or ""
        self.password = config.get("SMTP_PASSWORD") or ""
        self.starttls = bool(config.get("SMTP_STARTTLS"))
        self.timeout = float(config.get("SMTP_TIMEOUT", 30))
        self.smtp: smtplib.SMTP | None = None
        self.broken: Exception | None = None

    def _connect(self) -> smtplib.SMTP:
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            if self.starttls:
                smtp.starttls()
            if self.user:
                smtp.login(self.user, self.password)
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, msg: EmailMessage) -> None:
        """Send one message; raises smtplib.SMTPException or OSError on failure."""
        if self.broken is not None:
            raise self.broken
        try:
            if self.smtp is None:
                self.smtp = self._connect()
            self.smtp.send_message(msg)
        except OSError as error:  # smtplib.SMTPException is an OSError too
            if _is_connection_error(error):
                self.broken = error
                self.close()
            raise

    def close(self) -> None:
        """Say goodbye to the server, ignoring a connection that already died."""
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
            self.smtp = None

    def __enter__(self) -> "SmtpSender":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _is_connection_error(error: OSError) -> bool:
    """True when the connection is gone (not when the server refused one message)."""
    if isinstance(error, smtplib.SMTPServerDisconnected | smtplib.SMTPConnectError):
        return True
    return not isinstance(error, smtplib.SMTPException)
