from datetime import UTC, datetime

from boxoffice.hookspecs.providers import render_placeholders
from boxoffice.kernel.i18n import use_locale
from boxoffice.kernel.models import Event, Organizer


def make_event() -> Event:
    organizer = Organizer(slug="bigorg", name="Big Org", plugins=[])
    return Event(
        organizer=organizer,
        slug="summit",
        name={"en": "Summit", "de": "Gipfel"},
        currency="EUR",
        timezone="Europe/Berlin",
        date_from=datetime(2031, 6, 1, 16, 30, tzinfo=UTC),
        date_to=None,
        plugins=[],
    )


def placeholders_for(kernel, event):
    return [item for name, item in kernel.plugins.for_event(event).collect("register_text_placeholders", event=event)]


def test_standard_placeholders_are_always_active(kernel):
    event = make_event()
    identifiers = {placeholder.identifier for placeholder in placeholders_for(kernel, event)}
    assert {"event", "event_slug", "organizer", "organizer_slug", "currency", "event_date_from"} <= identifiers
    assert kernel.plugins.plugins["placeholders"].meta.level == "global"


def test_rendering_follows_the_language_and_the_event_time_zone(kernel):
    with kernel.db.session() as session:
        session.add(make_event())
    with kernel.db.session() as session:
        event = session.query(Event).filter_by(slug="summit").one()
        event.organizer  # noqa: B018  (loaded: the placeholders read it after the session ends)
    text = "{event} ({event_slug}) by {organizer} on {event_date_from} in {currency}; ends {event_date_to}; {unknown}"
    placeholders = placeholders_for(kernel, event)
    with use_locale("en"):
        english = render_placeholders(text, placeholders, {"event": event})
    with use_locale("de"):
        german = render_placeholders(text, placeholders, {"event": event})
    assert english.startswith("Summit (summit) by Big Org on Jun 1, 2031, 6:30")  # 16:30 UTC is 18:30 in Berlin
    assert "PM" in english
    assert german.startswith("Gipfel (summit) by Big Org on 01.06.2031, 18:30")
    assert english.endswith("in EUR; ends ; {unknown}")


def test_samples_need_only_the_event(kernel):
    event = make_event()
    samples = {p.identifier: p.render_sample(event) for p in placeholders_for(kernel, event)}
    assert samples["event_slug"] == "summit"
    assert samples["organizer"] == "Big Org"
