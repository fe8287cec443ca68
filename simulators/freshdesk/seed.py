"""The `demo` seed: a deterministic account whose phones are stored the ways people type them.

Importable so other tests can name "the contact stored as (555) 019-9999" (`demo_contact("us_parenthesised")`) and
know its E.164 and how many tickets it has. Times are relative to the moment of seeding (start-up and every
`POST /_sim/reset`), so "within the last 30 days" stays true however long ago the code was written.

Numbers are reserved for fiction or documentation where the country has such a range: NANP 555-0100..0199
(201/212 555-01xx), Ofcom drama ranges (020 7946 0xxx, 0161 496 0xxx, 07700 900xxx), Bundesnetzagentur media
numbers (030 23125 xxx, 069 90009 xxx), ARCEP fiction numbers (01 99 00 xx xx, 06 39 98 xx xx), ACMA fictitious
numbers ((02)/(03) 5550 xxxx, 0491 570 xxx). Japan, Brazil and India have no such range; their numbers are
libphonenumber's example numbers. The `(555) 019-999x` numbers use area code 555, which NANP never assigns: like
Ofcom's 07700 900xxx mobiles they are possible but not *valid* for libphonenumber, so a normaliser must not
require validity.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from simulators.freshdesk.catalog import AGENTS, API_AGENT_ID, GROUPS
from simulators.freshdesk.records import Company
from simulators.freshdesk.store import FIRST_CONTACT_ID, FIRST_TICKET_ID, Store

__all__ = [
    "DEMO_COMPANIES",
    "DEMO_CONTACTS",
    "DEMO_TICKETS",
    "XSS_SUBJECT",
    "SeedContact",
    "SeedTicket",
    "build_store",
    "demo_contact",
    "demo_ticket_count",
]

DAY = 86_400
XSS_SUBJECT = "<img src=x onerror=alert(1)>"

ACME, GLOBEX, WILSON = 43000002001, 43000002002, 43000002003
DEMO_COMPANIES: tuple[Company, ...] = (
    Company(ACME, "Acme Logistics"),
    Company(GLOBEX, "Globex GmbH"),
    Company(WILSON, "Wilson & Partners Pty"),
)


@dataclass(frozen=True)
class SeedContact:
    """A seeded contact. `phone_e164`/`mobile_e164` are what a caller ID would carry for the stored strings."""

    key: str
    name: str
    country: str
    phone: str | None
    phone_e164: str | None
    mobile: str | None = None
    mobile_e164: str | None = None
    email: str | None = None
    other_emails: tuple[str, ...] = ()
    company_id: int | None = None
    created_days_ago: float = 365.0
    active: bool = True
    blocked: bool = False
    deleted: bool = False
    language: str = "en"
    time_zone: str = "Eastern Time (US & Canada)"
    id: int = 0

    @property
    def e164(self) -> str:
        """The number this contact calls from: the work phone's E.164, else the mobile's."""
        return self.phone_e164 or self.mobile_e164 or ""


@dataclass(frozen=True)
class SeedTicket:
    key: str
    requester_key: str
    subject: str
    status: int
    priority: int
    created_days_ago: float
    updated_days_ago: float
    source: int = 2
    type: str | None = None
    tags: tuple[str, ...] = ()
    responder_id: int | None = None
    group_id: int | None = None
    spam: bool = False
    deleted: bool = False
    conversation_count: int = 0
    id: int = 0

    @property
    def visible(self) -> bool:
        """Listed by default: neither spam nor deleted."""
        return not self.spam and not self.deleted


_UK = {"time_zone": "London"}
_DE = {"language": "de", "time_zone": "Berlin"}
_FR = {"language": "fr", "time_zone": "Paris"}
# fmt: off
_CONTACTS: tuple[SeedContact, ...] = (
    SeedContact("us_parenthesised", "Dana Whitfield", "US", "(555) 019-9999", "+15550199999",
                email="dana.whitfield@example.com", other_emails=("dana@acme-logistics.example",),
                company_id=ACME, created_days_ago=700),
    SeedContact("us_dotted", "Marcus Lee", "US", "555.019.9998", "+15550199998",
                email="marcus.lee@example.com", created_days_ago=650),
    SeedContact("us_extension", "Priya Raman", "US", "+1 555-019-9997 x12", "+15550199997",
                email="priya.raman@example.com", company_id=ACME, created_days_ago=610),
    SeedContact("us_e164", "Jordan Blake", "US", "+12015550123", "+12015550123",
                email="jordan.blake@example.com", created_days_ago=575),
    SeedContact("us_digits_national", "Elena Park", "US", "2015550147", "+12015550147",
                email="elena.park@example.com", created_days_ago=540),
    SeedContact("us_digits_international", "Sam Okafor", "US", "12125550172", "+12125550172",
                email="sam.okafor@example.com", created_days_ago=505),
    SeedContact("us_mobile_only", "Chloe Martin", "US", None, None, mobile="+1 201 555 0188",
                mobile_e164="+12015550188", email="chloe.martin@example.com", created_days_ago=470),
    SeedContact("uk_national", "Oliver Bennett", "GB", "020 7946 0958", "+442079460958",
                email="oliver.bennett@example.co.uk", created_days_ago=440, **_UK),
    SeedContact("uk_trunk_zero", "Olivia Bennett", "GB", "+44 (0)20 7946 0958", "+442079460958",
                email="olivia.bennett@example.co.uk", created_days_ago=30.5, **_UK),
    SeedContact("uk_double_zero", "Harry Collins", "GB", "0044 20 7946 0123", "+442079460123",
                email="harry.collins@example.co.uk", created_days_ago=410, **_UK),
    SeedContact("uk_mobile", "Amelia Hughes", "GB", "0161 496 0753", "+441614960753", mobile="07700 900123",
                mobile_e164="+447700900123", email="amelia.hughes@example.co.uk", created_days_ago=380, **_UK),
    SeedContact("de_national", "Lukas Schneider", "DE", "030 23125 412", "+493023125412",
                email="lukas.schneider@example.de", company_id=GLOBEX, created_days_ago=350, **_DE),
    SeedContact("de_double_zero", "Anna Fischer", "DE", "0049 69 90009 111", "+496990009111",
                email="anna.fischer@example.de", company_id=GLOBEX, created_days_ago=320, **_DE),
    SeedContact("fr_national", "Camille Dubois", "FR", "01 99 00 12 34", "+33199001234", mobile="06 39 98 12 34",
                mobile_e164="+33639981234", email="camille.dubois@example.fr", created_days_ago=290, **_FR),
    SeedContact("fr_international_spaces", "Louis Moreau", "FR", "+33 1 99 00 56 78", "+33199005678",
                email="louis.moreau@example.fr", created_days_ago=260, **_FR),
    SeedContact("au_shared_line_a", "Jack Wilson", "AU", "+61 3 5550 4321", "+61355504321",
                email="jack.wilson@example.com.au", company_id=WILSON, created_days_ago=230, time_zone="Melbourne"),
    SeedContact("au_shared_line_b", "Charlotte Wilson", "AU", "+61 3 5550 4321", "+61355504321",
                email="charlotte.wilson@example.com.au", company_id=WILSON, created_days_ago=200,
                time_zone="Melbourne"),
    SeedContact("au_national", "Mia Thompson", "AU", "(02) 5550 1234", "+61255501234", mobile="0491 570 156",
                mobile_e164="+61491570156", email="mia.thompson@example.com.au", created_days_ago=170,
                time_zone="Sydney"),
    SeedContact("jp_national", "Haruto Sato", "JP", "03-1234-5678", "+81312345678",
                email="haruto.sato@example.jp", created_days_ago=140, language="ja-JP", time_zone="Tokyo"),
    SeedContact("br_national", "Beatriz Souza", "BR", "(11) 2345-6789", "+551123456789",
                mobile="+55 11 96123-4567", mobile_e164="+5511961234567", email="beatriz.souza@example.com.br",
                created_days_ago=110, language="pt-BR", time_zone="Brasilia"),
    SeedContact("in_unverified", "Aarav Sharma", "IN", "+91 81234 56789", "+918123456789",
                email="aarav.sharma@example.in", active=False, created_days_ago=80, time_zone="Chennai"),
    SeedContact("us_dotted_deleted", "Marcus Lee (old)", "US", "555.019.9998", "+15550199998",
                email="marcus.lee.old@example.com", deleted=True, created_days_ago=60),
    SeedContact("us_blocked", "Blocked Caller", "US", "+1 201 555 0199", "+12015550199",
                email="spammer@example.net", blocked=True, created_days_ago=20),
    SeedContact("us_just_now", "Noah Newcomer", "US", "+1 201 555 0166", "+12015550166",
                email="noah.newcomer@example.com", created_days_ago=0),
)
# fmt: on
DEMO_CONTACTS: tuple[SeedContact, ...] = tuple(
    dataclasses.replace(contact, id=FIRST_CONTACT_ID + number) for number, contact in enumerate(_CONTACTS)
)

_DOZENS_SUBJECTS = (
    "Invoice shows the wrong VAT rate",
    "Parcel marked delivered but not received",
    "Cannot log in after password reset",
    "Refund not received after return",
    "Duplicate charge on card",
    "Tracking number not working",
    "Change of billing address",
    "Driver could not find the loading dock",
    "Question about the annual plan",
    "Export to CSV times out",
    "Request a copy of the contract",
)
# Cycles of co-prime lengths, so status, priority and age combine in many ways.
_DOZENS_STATUSES = (2, 3, 4, 5, 6, 5, 7)
_DOZENS_PRIORITIES = (2, 1, 3, 2, 4)
_DOZENS_SOURCES = (3, 1, 2, 3, 7, 9)
_DOZENS_TYPES = ("Incident", "Question", None, "Problem", "Refund", "Feature Request")
_DOZENS_TAGS = (("vip",), ("billing",), (), ("delivery", "escalated"))


def _dozens_caller_tickets() -> list[SeedTicket]:
    """45 tickets over nine months for us_parenthesised: five in the last 30 days, open ones older than that."""
    tickets = []
    for number in range(45):
        created = 0.5 + number * 6.3
        tickets.append(
            SeedTicket(
                key=f"us_parenthesised_{number:02d}",
                requester_key="us_parenthesised",
                subject=f"{_DOZENS_SUBJECTS[number % len(_DOZENS_SUBJECTS)]} (order {40100 + number})",
                status=_DOZENS_STATUSES[number % 7],
                priority=_DOZENS_PRIORITIES[number % 5],
                source=_DOZENS_SOURCES[number % 6],
                type=_DOZENS_TYPES[number % 6],
                tags=_DOZENS_TAGS[number % 4],
                created_days_ago=created,
                updated_days_ago=max(0.1, created - 0.25 - number % 4),
                responder_id=API_AGENT_ID if number % 3 == 0 else None,
                group_id=GROUPS["Billing"] if number % 2 else GROUPS["Technical Support"],
                conversation_count=12 if number == 0 else (2 if number % 3 == 1 else 0),
            )
        )
    return tickets


_RILEY = AGENTS["Riley Chen"]
# fmt: off
_TICKETS: tuple[SeedTicket, ...] = (
    *_dozens_caller_tickets(),
    SeedTicket("us_parenthesised_spam", "us_parenthesised", "You have won a cruise", 2, 1, 3, 3, spam=True),
    SeedTicket("us_parenthesised_deleted", "us_parenthesised", "Test ticket, please ignore", 2, 1, 5, 4, deleted=True),
    SeedTicket("us_dotted_wrong_size", "us_dotted", "Wrong size delivered", 2, 2, 2, 1, source=3),
    SeedTicket("us_extension_forwarding", "us_extension", "Extension line not forwarding", 6, 3, 10, 2, source=3,
               type="Incident", responder_id=_RILEY),
    SeedTicket("us_extension_pin", "us_extension", "Conference bridge PIN reset", 4, 1, 40, 38, type="Question"),
    SeedTicket("us_extension_voicemail", "us_extension", "Voicemail to email", 5, 1, 90, 85, type="Feature Request"),
    SeedTicket("us_e164_upgrade", "us_e164", "Upgrade to the Pro plan", 3, 2, 1, 0.5, source=7, tags=("sales",)),
    SeedTicket("us_e164_receipt", "us_e164", "Receipt for March", 5, 1, 60, 58, source=1),
    SeedTicket("us_digits_international_locked", "us_digits_international", "Account locked", 7, 3, 15, 3,
               type="Incident"),
    SeedTicket("us_mobile_only_sms", "us_mobile_only", "SMS notifications not arriving", 2, 2, 4, 4, source=3),
    SeedTicket("uk_national_direct_debit", "uk_national", "Direct debit failed", 2, 3, 6, 1, source=3,
               tags=("billing",)),
    SeedTicket("uk_national_registration", "uk_national", "Update company registration number", 4, 1, 70, 66),
    SeedTicket("uk_trunk_zero_duplicate", "uk_trunk_zero", "Duplicate account created", 2, 2, 3, 3, source=3),
    SeedTicket("uk_double_zero_delivery", "uk_double_zero", "Delivery to Northern Ireland", 3, 2, 20, 18),
    SeedTicket("uk_mobile_porting", "uk_mobile", "Porting my number", 5, 2, 120, 110, source=3),
    SeedTicket("de_national_invoice", "de_national", "Rechnung doppelt erhalten", 2, 2, 8, 2, source=1,
               group_id=GROUPS["Billing"]),
    SeedTicket("de_national_cancellation", "de_national", "Kündigung bestätigen", 5, 1, 200, 190),
    SeedTicket("de_double_zero_address", "de_double_zero", "Lieferadresse ändern", 6, 2, 12, 5),
    SeedTicket("fr_national_xss", "fr_national", XSS_SUBJECT, 2, 3, 1, 1, source=3, type="Incident"),
    SeedTicket("au_shared_line_a_invoice", "au_shared_line_a", "Shared office line: invoice query", 2, 2, 9, 9),
    SeedTicket("au_shared_line_a_onboarding", "au_shared_line_a", "Onboarding call", 4, 1, 33, 31, source=3),
    SeedTicket("au_shared_line_b_password", "au_shared_line_b", "Shared office line: password reset", 3, 2, 2, 1),
    SeedTicket("jp_national_invoice", "jp_national", "請求書の再発行をお願いします", 2, 2, 5, 5, source=1),
    SeedTicket("br_national_nota_fiscal", "br_national", "Nota fiscal não recebida", 6, 3, 14, 6),
    SeedTicket("in_unverified_otp", "in_unverified", "OTP not received", 2, 4, 7, 7, source=3),
    SeedTicket("us_blocked_spam", "us_blocked", "Cheap watches", 2, 1, 19, 19, spam=True),
)
# fmt: on
# Ids follow creation order, as on a real helpdesk: the oldest ticket has the lowest id.
DEMO_TICKETS: tuple[SeedTicket, ...] = tuple(
    dataclasses.replace(ticket, id=FIRST_TICKET_ID + number)
    for number, ticket in enumerate(sorted(_TICKETS, key=lambda ticket: (-ticket.created_days_ago, ticket.key)))
)

_CONTACTS_BY_KEY = {contact.key: contact for contact in DEMO_CONTACTS}


def demo_contact(key: str) -> SeedContact:
    """The seeded contact with `key`; KeyError for an unknown key."""
    return _CONTACTS_BY_KEY[key]


def demo_ticket_count(key: str) -> int:
    """How many tickets the ticket list shows for the contact with `key` (spam and deleted ones excluded)."""
    return sum(1 for ticket in DEMO_TICKETS if ticket.requester_key == key and ticket.visible)


def build_store(seed: str, *, now: float, index_lag: float) -> Store:
    """A store filled with the named seed (`demo` or `empty`), timed relative to `now`."""
    store = Store()
    if seed == "empty":
        return store
    if seed != "demo":
        raise ValueError(f"unknown seed {seed!r}; use 'demo' or 'empty'")
    for company in DEMO_COMPANIES:
        store.add_company(company)
    for contact in DEMO_CONTACTS:
        created_at = int(now - contact.created_days_ago * DAY)
        store.add_contact(
            now=now,
            index_lag=index_lag,
            contact_id=contact.id,
            name=contact.name,
            email=contact.email,
            other_emails=list(contact.other_emails),
            phone=contact.phone,
            mobile=contact.mobile,
            company_id=contact.company_id,
            language=contact.language,
            time_zone=contact.time_zone,
            active=contact.active,
            blocked=contact.blocked,
            deleted=contact.deleted,
            created_at=created_at,
            updated_at=int(now - contact.created_days_ago / 3 * DAY),
        )
    for ticket in DEMO_TICKETS:
        store.add_ticket(
            now=now,
            index_lag=index_lag,
            requester=store.contacts[demo_contact(ticket.requester_key).id],
            ticket_id=ticket.id,
            subject=ticket.subject,
            description=f"<div>{ticket.subject}</div><div>Reported by phone.</div>",
            status=ticket.status,
            priority=ticket.priority,
            source=ticket.source,
            type=ticket.type,
            tags=list(ticket.tags),
            responder_id=ticket.responder_id,
            group_id=ticket.group_id,
            spam=ticket.spam,
            deleted=ticket.deleted,
            created_at=int(now - ticket.created_days_ago * DAY),
            updated_at=int(now - ticket.updated_days_ago * DAY),
            conversation_count=ticket.conversation_count,
        )
    return store
