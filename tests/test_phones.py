"""Phone matching: Genesys ANIs against the formats Freshdesk stores (seed guide, edge case 1).

All numbers are fictional where a country reserves a range (US 555-01xx, UK 020 7946 0xxx / 0113 496 0xxx /
07700 900xxx, DE 030 23125 xxx, FR 01 99 00 xx xx / 06 39 98 xx xx, AU 02 5550 xxxx / 0491 570 xxx). Brazil, Japan
and India reserve none; their numbers here are arbitrary digit patterns.
"""

from __future__ import annotations

import phonenumbers
import pytest

from screenpop.phones import (
    contact_search_queries,
    contact_search_query,
    normalize_caller,
    normalize_stored,
    search_variants,
    stored_numbers,
)

# (ANI as Genesys sends it, value stored in Freshdesk, tenant default region, same caller?)
MATCH_TABLE: list[tuple[str, str, str, bool]] = [
    # United States
    ("tel:+15550199999", "(555) 019-9999", "US", True),
    ("sip:+15550199999@10.0.0.1;user=phone", "555.019.9999", "US", True),
    ("+15550199999", "+1 555-019-9999 x12", "US", True),
    ("tel:+15550199999;ext=12", "555-019-9999", "US", True),
    ("(555) 019-9999", "+15550199999", "US", True),
    ("15550199999", "1-555-019-9999", "US", True),
    ("tel:+12025550123", "1 (202) 555-0123", "US", True),
    ("tel:+12025550123", "202 555 0123", "US", True),
    ("+1 202 555 0123 x45", "202-555-0123 ext. 99", "US", True),
    ("tel:+12025550123", "(312) 555-0123", "US", False),  # same seven digits, other area code
    ("tel:+12025550123", "555-0123", "US", False),  # local number without area code: no key at all
    ("tel:+12025550123", "12025550124", "US", False),
    ("tel:+15550199999", "+44 555 019 9999", "US", False),  # same ten national digits, other country
    # United Kingdom
    ("tel:+442079460958", "020 7946 0958", "GB", True),
    ("tel:+442079460958", "+44 (0)20 7946 0958", "GB", True),
    ("tel:+442079460958", "0044 20 7946 0958", "US", True),  # 00 prefix stored by a US tenant
    ("tel:+442079460958", "011 44 20 7946 0958", "US", True),
    ("tel:+442079460958", "442079460958", "US", True),  # country code without its +
    ("00442079460958", "+44 20 7946 0958", "DE", True),
    ("sip:02079460958@gateway.example;user=phone", "020-7946-0958", "GB", True),
    ("tel:+447700900123", "07700 900123", "GB", True),
    ("tel:+441134960123", "0113 496 0123", "GB", True),  # 011x is a UK area code, not the US exit prefix
    ("tel:+442079460958", "+1 (207) 946-0958", "GB", False),  # the digit-suffix trap of the seed guide
    ("tel:+442079460958", "020 7946 0959", "GB", False),
    ("tel:+442079460958", "7946 0958", "GB", False),
    # Germany
    ("tel:+493023125567", "030 23125567", "DE", True),
    ("tel:+493023125567", "+49 (0)30 231 255 67", "DE", True),
    ("tel:+493023125567", "0049 30 23125567", "GB", True),
    ("030 23125567", "+493023125567", "DE", True),
    ("tel:+493023125567", "040 23125567", "DE", False),  # Hamburg, not Berlin
    # France
    ("tel:+33199001234", "01 99 00 12 34", "FR", True),
    ("tel:+33199001234", "+33 (0)1 99 00 12 34", "FR", True),
    ("tel:+33199001234", "01.99.00.12.34", "FR", True),
    ("tel:+33639980123", "06 39 98 01 23", "FR", True),
    ("tel:+33199001234", "01 99 00 12 34", "GB", False),  # a French national number read in a UK tenant
    # Brazil
    ("tel:+5511912345678", "(11) 91234-5678", "BR", True),
    ("tel:+5511912345678", "+55 11 91234-5678", "US", True),
    ("tel:+5511912345678", "011 91234-5678", "BR", True),  # trunk 0 + area 11, not the US exit prefix
    ("tel:+5511912345678", "(21) 91234-5678", "BR", False),
    # Japan
    ("tel:+81312345678", "03-1234-5678", "JP", True),
    ("tel:+81312345678", "+81 3-1234-5678", "JP", True),
    ("tel:+81312345678", "010 81 3 1234 5678", "JP", True),  # Japan's own exit prefix
    ("tel:+819012345678", "090-1234-5678", "JP", True),
    ("tel:+81312345678", "06-1234-5678", "JP", False),  # Osaka, not Tokyo
    # Australia
    ("tel:+61491570156", "0491 570 156", "AU", True),
    ("tel:+61491570156", "+61 (0)491 570 156", "AU", True),
    ("tel:+61255501234", "(02) 5550 1234", "AU", True),
    ("tel:+61255501234", "(03) 5550 1234", "AU", False),
    # India
    ("tel:+919876543210", "098765 43210", "IN", True),
    ("tel:+919876543210", "9876543210", "IN", True),
    ("tel:+919876543210", "+91-98765-43210", "IN", True),
    ("tel:+919876543210", "9876543210", "US", False),  # a US tenant reads it as +1 987-654-3210
]


@pytest.mark.parametrize(("ani", "stored", "region", "expected"), MATCH_TABLE)
def test_caller_matches_stored_number_only_on_full_e164(ani: str, stored: str, region: str, expected: bool) -> None:
    caller = normalize_caller(ani, default_region=region)
    assert caller.outcome == "ok", caller.reason
    assert (caller.e164 == normalize_stored(stored, default_region=region)) is expected


def test_table_covers_enough_cases_and_countries() -> None:
    countries = {
        phonenumbers.region_code_for_country_code(
            phonenumbers.parse(normalize_caller(ani, default_region=region).e164).country_code
        )
        for ani, _, region, _ in MATCH_TABLE
    }
    assert len(MATCH_TABLE) >= 40
    assert {"US", "GB", "DE", "FR", "BR", "JP", "AU", "IN"} <= countries
    assert any(not expected for *_, expected in MATCH_TABLE)


# Fictional ranges are *possible* (plausible length) but some are not *valid* (allocated) in phonenumbers'
# metadata: US area code 555 does not exist and Ofcom's 07700 900xxx drama range is unallocated. The product
# matches on possibility for that reason (and for newly allocated ranges the metadata does not know yet).
@pytest.mark.parametrize(
    ("e164", "valid"),
    [
        ("+15550199999", False),
        ("+12025550123", True),
        ("+442079460958", True),
        ("+447700900123", False),
        ("+441134960123", True),
        ("+493023125567", True),
        ("+33199001234", True),
        ("+33639980123", False),
        ("+61491570156", True),
        ("+61255501234", True),
    ],
)
def test_fictional_ranges_are_possible_numbers(e164: str, valid: bool) -> None:
    number = phonenumbers.parse(e164)
    assert phonenumbers.is_possible_number(number)
    assert phonenumbers.is_valid_number(number) is valid
    assert normalize_caller(e164, default_region="US").e164 == e164


def test_caller_extension_is_kept_apart_from_the_key() -> None:
    caller = normalize_caller("sip:+15550199999;ext=12@gw.example;user=phone", default_region="US")
    assert (caller.e164, caller.extension, caller.display) == ("+15550199999", "12", "+1 555-019-9999")


@pytest.mark.parametrize(
    ("ani", "outcome"),
    [
        ("sip:anonymous@anonymous.invalid", "anonymous"),
        ('"Anonymous" <sip:anonymous@anonymous.invalid>', "anonymous"),
        ("anonymous", "anonymous"),
        ("Unknown", "anonymous"),
        ("tel:unavailable", "anonymous"),
        ("withheld", "withheld"),
        ("PRIVATE", "withheld"),
        ("Restricted", "withheld"),
        ("", "empty"),
        ("   ", "empty"),
        ("tel:", "empty"),
        ("tel:+", "empty"),
        ("+", "empty"),
        ("1234", "too_short"),
        ("tel:911", "too_short"),
        ("555-0199", "too_short"),  # no area code
        ("${phoneNumbers[0].value}", "invalid"),  # unresolved Genesys template
        ("$!{call.ani}", "invalid"),
        ("not a number", "invalid"),
        ("+999 12345678", "invalid"),  # no such country code
        ("1" * 300, "invalid"),
    ],
)
def test_callers_that_cannot_be_looked_up(ani: str, outcome: str) -> None:
    caller = normalize_caller(ani, default_region="US")
    assert caller.outcome == outcome
    assert caller.e164 is None
    assert not caller.can_look_up
    assert caller.reason.endswith(".")


def test_national_caller_without_a_known_region_is_not_guessed() -> None:
    caller = normalize_caller("5550199999", default_region="")
    assert caller.outcome == "invalid"
    assert "default phone region" in caller.reason
    assert normalize_caller("+15550199999", default_region="").e164 == "+15550199999"


@pytest.mark.parametrize(
    "stored", [None, "", "n/a", "ask reception", "0", "-", "555-0199", "+999 12345678", "Tel:", "(mobile)"]
)
def test_stored_values_that_are_not_one_full_number(stored: str | None) -> None:
    assert normalize_stored(stored, default_region="US") is None


def full_width(text: str) -> str:
    """`text` as a Japanese or Chinese input method types it: full-width digits, plus and hyphen (U+FF01-FF5E)."""
    return "".join(chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char for char in text)


@pytest.mark.parametrize(
    ("stored", "region", "expected"),
    [
        # Full-width digits and punctuation, as Japanese and Chinese input methods type them (NFKC).
        (full_width("+44 20 7946 0958"), "US", ["+442079460958"]),
        (full_width("03-1234-5678"), "JP", ["+81312345678"]),
        # Vanity letters count as digits once converted; extension words stay extensions.
        ("1-800-FLOWERS", "US", ["+18003569377"]),
        ("+1 800 FLOWERS ext. 5", "US", ["+18003569377"]),
        # Labels before and after the number.
        ("Tel: 020 7946 0958", "GB", ["+442079460958"]),
        ("Mob. 07700900123", "GB", ["+447700900123"]),
        ("07700 900123 (mobile)", "GB", ["+447700900123"]),
        ("+1 202 555 0147 (work)", "US", ["+12025550147"]),
        ("Tél. : 01 99 00 12 34", "FR", ["+33199001234"]),
        # Several numbers in one field, each kept, in the order written.
        ("020 7946 0958 / 07700 900123", "GB", ["+442079460958", "+447700900123"]),
        ("0161 496 0753; 07700 900123", "GB", ["+441614960753", "+447700900123"]),
        ("202-555-0100 or 202-555-0101", "US", ["+12025550100", "+12025550101"]),
        ("555-019-9999 / 555-019-8888", "US", ["+15550199999", "+15550198888"]),
        ("030 23125 412 oder 0151 23456789", "DE", ["+493023125412", "+4915123456789"]),
        # A German area code written with a slash is one number, not two.
        ("030/23125412", "DE", ["+493023125412"]),
        # Mexico's retired mobile "1" after the country code.
        ("+52 1 55 1234 5678", "US", ["+525512345678"]),
        ("+52 55 1234 5678", "US", ["+525512345678"]),
    ],
)
def test_stored_numbers_read_what_people_type(stored: str, region: str, expected: list[str]) -> None:
    assert stored_numbers(stored, default_region=region) == expected
    assert normalize_stored(stored, default_region=region) == expected[0]


def test_a_caller_on_mexicos_old_mobile_prefix_is_the_same_caller() -> None:
    assert normalize_caller("tel:+5215512345678", default_region="US").e164 == "+525512345678"


def test_search_variants_start_with_e164_and_include_common_spellings() -> None:
    variants = search_variants("+15550199999")
    assert variants[0] == "+15550199999"
    assert len(variants) == len(set(variants))
    for spelling in (
        "15550199999",
        "5550199999",
        "(555) 019-9999",
        "555-019-9999",
        "555.019.9999",
        "555 019 9999",
        "+1 555-019-9999",
        "0015550199999",
    ):
        assert spelling in variants
    assert "+44 (0)20 7946 0958" in search_variants("+442079460958")


@pytest.mark.parametrize(
    "e164",
    [
        "+15550199999",
        "+442079460958",
        "+493023125567",
        "+33199001234",
        "+5511912345678",
        "+81312345678",
        "+61491570156",
        "+919876543210",
    ],
)
def test_every_variant_normalizes_back_to_the_number(e164: str) -> None:
    region = phonenumbers.region_code_for_number(phonenumbers.parse(e164)) or "US"
    for variant in search_variants(e164):
        assert normalize_stored(variant, default_region=region) == e164, variant


def test_search_variants_rejects_non_e164() -> None:
    with pytest.raises(ValueError):
        search_variants("5550199999")


def test_contact_search_query_fits_freshdesk_limit_with_e164_first() -> None:
    variants = search_variants("+442079460958")
    query = contact_search_query(variants)
    assert query.startswith("phone:'+442079460958' OR mobile:'+442079460958' OR ")
    assert len(f'"{query}"') <= 512
    # Least likely variants are dropped, whole, from the tail.
    included = [variant for variant in variants if f"phone:'{variant}'" in query]
    assert included == variants[: len(included)]
    assert all(f"mobile:'{variant}'" in query for variant in included)


def test_contact_search_query_drops_tail_for_a_small_budget() -> None:
    query = contact_search_query(["+15550199999", "(555) 019-9999", "555-019-9999"], max_chars=99)
    assert query == "phone:'+15550199999' OR mobile:'+15550199999'"
    assert contact_search_query(["+15550199999"], fields=("phone",)) == "phone:'+15550199999'"


@pytest.mark.parametrize("variants", [["555' OR active:true OR phone:'1"], ['555"019'], ["555\\019"], []])
def test_contact_search_query_refuses_quotes_and_empty_input(variants: list[str]) -> None:
    with pytest.raises(ValueError):
        contact_search_query(variants)


def test_contact_search_query_refuses_field_names_that_are_not_plain() -> None:
    assert contact_search_query(["+15550199999"], fields=("cf_direct_line",)) == "cf_direct_line:'+15550199999'"
    with pytest.raises(ValueError):
        contact_search_query(["+15550199999"], fields=("phone:'x' OR email",))


def test_contact_search_query_refuses_a_first_variant_that_cannot_fit() -> None:
    with pytest.raises(ValueError):
        contact_search_query(["+15550199999"], max_chars=20)


def test_every_seeded_freshdesk_phone_normalizes_to_the_callers_e164() -> None:
    """The simulator's seed stores phones the messy ways people type them; each must meet its caller's E.164."""
    from simulators.freshdesk.seed import DEMO_CONTACTS

    pairs = [
        (stored, e164, contact.country)
        for contact in DEMO_CONTACTS
        for stored, e164 in ((contact.phone, contact.phone_e164), (contact.mobile, contact.mobile_e164))
        if stored is not None
    ]
    assert len(pairs) >= 20
    for stored, e164, region in pairs:
        assert normalize_stored(stored, default_region=region) == e164, stored
        assert normalize_caller(f"tel:{e164}", default_region=region).e164 == e164


def test_a_number_written_without_its_country_code_is_not_guessed_into_a_merely_possible_foreign_one() -> None:
    # A French tenant's contact stored as a US national number: +55 50199999 is only "possible" in Brazil.
    assert normalize_stored("(555) 019-9999", default_region="FR") is None
    # An exit prefix is an explicit international reading and stays accepted.
    assert normalize_stored("0044 20 7946 0123", default_region="FR") == "+442079460123"


def test_search_variants_put_national_spellings_first_for_the_tenants_own_numbers() -> None:
    at_home = search_variants("+442079460958", tenant_region="GB")
    abroad = search_variants("+442079460958", tenant_region="US")
    assert at_home[0] == "020 7946 0958"
    assert abroad[0] == "+442079460958"
    assert set(at_home) == set(abroad)


def test_spellings_one_query_cannot_hold_go_into_a_second_not_dropped() -> None:
    variants = search_variants("+15550199999", tenant_region="US")
    queries = contact_search_queries(variants)
    assert len(queries) == 2
    assert all(len(f'"{query}"') <= 512 for query in queries)
    held = [variant for variant in variants if any(f"phone:'{variant}'" in query for query in queries)]
    assert held == variants
    assert contact_search_queries(variants, max_queries=1) == [contact_search_query(variants)]
