"""Phone matching: turn what Genesys sends and what Freshdesk stores into comparable E.164 keys.

Genesys hands us the caller's ANI as a URI or in E.164 (`tel:+15550199999`, `sip:+15550199999@host;user=phone`);
Freshdesk stores whatever an agent or an import typed (`(555) 019-9999`, `+44 (0)20 7946 0958`, `0044 20 ...`) and
matches only exact strings (reference/freshdesk.md §4, §9). So:

- `normalize_caller` decides whether a call can be looked up at all and, if so, gives its E.164 key;
- `normalize_stored` gives the E.164 key of a stored `phone`/`mobile` value, to confirm a candidate contact;
- `search_variants` and `contact_search_query` produce the stored spellings worth asking Freshdesk search for.

Two numbers match only when their full E.164 keys are equal. Comparing digit suffixes (the seed guide's
"strip non-digits and compare") would pop a stranger's tickets: +1 207-946-0958 and +44 20 7946 0958 share all ten
national digits.

Validity policy: a key is produced when `phonenumbers` says the number is *possible* (a plausible length for its
country), not only when it is *valid* (in an allocated range). Customers' numbers in newly allocated ranges, and the
fictional ranges used in demos and tests (US 555-01xx, UK 07700 900xxx), fail strict validity yet are real inputs.
Validity is still used to choose between two readings of the same digits (national vs. international prefix).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumber, PhoneNumberFormat, ValidationResult

__all__ = [
    "CallerNumber",
    "CallerOutcome",
    "contact_search_queries",
    "contact_search_query",
    "normalize_caller",
    "normalize_stored",
    "search_variants",
    "stored_numbers",
]

CallerOutcome = Literal["ok", "anonymous", "withheld", "empty", "too_short", "invalid"]

# Tokens carriers and Genesys put in place of a number when the caller's identity is hidden. "Unknown" and
# "unavailable" mean the network never had the number; "private"/"restricted"/... mean the caller withheld it.
_ANONYMOUS_TOKENS = frozenset({"anonymous", "unknown", "unavailable", "notavailable", "none", "null"})
_WITHHELD_TOKENS = frozenset({"withheld", "private", "restricted", "blocked", "hidden", "presentationrestricted"})

# Longest value worth parsing: Freshdesk phone fields hold 255 characters and an ANI URI is far shorter.
_MAX_INPUT_CHARS = 255
# Below this many digits nothing can be an E.164 number (the shortest national numbers have 5-6 digits); it is an
# internal extension or a short code, never a customer.
_MIN_DIGITS = 5
# An unresolved Genesys template (`${...}`, `$!{...}`) reaches us when the data action references a variable the
# trigger does not provide (seed guide, section 2 trap).
_TEMPLATE_RE = re.compile(r"\$!?\{")
_EXTENSION_PARAM_RE = re.compile(r"^ext=(?P<ext>[0-9]+)$", re.IGNORECASE)
# Extension markers `phonenumbers` itself understands; anything else alphabetic in an ANI is not a phone number.
_EXTENSION_WORDS_RE = re.compile(r"(?i)(?:extension|extn|ext|x)\.?(?=\s*[0-9])")
# Where an extension starts in a stored or dialled string: `;ext=12`, `#12`, `x12`, ` ext. 12`.
_EXTENSION_START_RE = re.compile(r"(?i);|#|x|ext")
_LETTERS_RE = re.compile(r"[A-Za-z]")
_NON_DIGITS_RE = re.compile(r"[^0-9]")
_DIGIT_GROUPS_RE = re.compile(r"[0-9]+")
_FIELD_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Where people put several numbers in one field: `;`, `,`, `|`, a line break, a spaced slash, "or" in a few languages.
_SEVERAL_NUMBERS_RE = re.compile(r"[;,|\n]|\s/\s|\s(?:or|oder|ou|o|of)\s", re.IGNORECASE)
_LABEL_WORDS = (
    r"tel|tél|telephone|téléphone|telefon|phone|ph|mob|mobile|mobil|cell|cellphone|fax|work|home|office|main|"
    r"direct|whatsapp|landline|personal|handy|portable"
)
# A label before the number ("Tel:", "Mob. ", "M:") or after it ("(mobile)", "- work", "home").
_LABEL_BEFORE_RE = re.compile(rf"^(?:(?:{_LABEL_WORDS}|[tmpfhwo])\.?\s*:\s*|(?:{_LABEL_WORDS})\.?\s+)", re.IGNORECASE)
_LABEL_AFTER_RE = re.compile(rf"\s*[-(\[]?\s*(?:{_LABEL_WORDS})\s*[)\]]?\.?\s*$", re.IGNORECASE)
# Three letters in a row that are not an extension word: a vanity number (1-800-FLOWERS).
_VANITY_RE = re.compile(r"(?i)\b(?!ext\b|extn\b|extension\b)[a-z]{3,}\b")


@dataclass(frozen=True)
class CallerNumber:
    """The caller's number as the lookup needs it.

    `e164` is set exactly when `outcome == "ok"`; `display` is what the panel shows (international format for a
    number, a word like "Anonymous" otherwise); `reason` is a sentence for the event log saying why there is or is
    no lookup. `extension` keeps a dialled extension, which never takes part in matching.
    """

    raw: str
    e164: str | None
    display: str
    outcome: CallerOutcome
    reason: str
    extension: str | None = None

    @property
    def can_look_up(self) -> bool:
        """True when the number is worth a Freshdesk lookup."""
        return self.outcome == "ok"


def normalize_caller(raw: str | None, *, default_region: str) -> CallerNumber:
    """Normalise an ANI as Genesys sends it.

    Accepts `tel:` and `sip:`/`sips:` URIs (user part; URI parameters and host ignored, `;ext=` kept as the
    extension), E.164, numbers with `00`/`011` international prefixes, national numbers of `default_region` (ISO
    3166 alpha-2, e.g. "US"), and extensions (`;ext=12`, ` x12`, ` ext. 12`). Never raises: every input maps to an
    outcome, and only "ok" should cost a Freshdesk call.
    """
    text = (raw or "").strip()
    region = _region(default_region)
    if len(text) > _MAX_INPUT_CHARS:
        return _no_lookup(
            text, "invalid", f"The caller number is {len(text)} characters long, too long for a phone number."
        )
    if _TEMPLATE_RE.search(text):
        return _no_lookup(
            text,
            "invalid",
            f"The caller number {text!r} is an unresolved Genesys template variable; check the data action's "
            "request template.",
        )
    number_part, extension = _strip_uri(text)
    hidden = _hidden_outcome(number_part)
    if hidden is not None:
        return _hidden_number(text, hidden)
    digits = _NON_DIGITS_RE.sub("", number_part)
    if not digits:
        if _LETTERS_RE.search(number_part):
            return _no_lookup(text, "invalid", f"The caller number {text!r} contains no digits.")
        return _no_lookup(text, "empty", "Genesys sent no caller number, so there is nothing to look up.")
    if _LETTERS_RE.search(_EXTENSION_WORDS_RE.sub("", number_part)):
        return _no_lookup(text, "invalid", f"The caller number {text!r} contains letters; an ANI is digits only.")
    if len(digits) < _MIN_DIGITS:
        return _no_lookup(
            text, "too_short", f"The caller number {text!r} has {len(digits)} digits: an extension or short code."
        )
    if extension:
        number_part = f"{number_part} ext. {extension}"
    number = _parse_best(number_part, region)
    if number is None and region == "ZZ":
        return _no_lookup(
            text,
            "invalid",
            f"The caller number {text!r} has no country code and the tenant's default phone region "
            f"{default_region!r} is not a known region code, so it cannot be read.",
        )
    if number is None:
        return _no_lookup(text, "invalid", f"The caller number {text!r} cannot be read as a phone number.")
    possibility = phonenumbers.is_possible_number_with_reason(number)
    if possibility in (ValidationResult.TOO_SHORT, ValidationResult.IS_POSSIBLE_LOCAL_ONLY):
        return _no_lookup(
            text,
            "too_short",
            f"The caller number {text!r} is too short to be a full number in region {region}; it lacks an area code.",
        )
    if possibility != ValidationResult.IS_POSSIBLE:
        return _no_lookup(
            text, "invalid", f"The caller number {text!r} is not a possible phone number (read in region {region})."
        )
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    return CallerNumber(
        raw=text,
        e164=e164,
        display=_international(number),
        outcome="ok",
        reason=f"Looking up {e164}.",
        extension=number.extension or None,
    )


def normalize_stored(raw: str | None, *, default_region: str) -> str | None:
    """The E.164 key of a phone value stored in Freshdesk (its first number, when it holds several), or None when
    it holds no full phone number.

    Reads what people type (`stored_numbers` has the details): national spellings in `default_region`, `00`/`011`
    prefixes, `+44 (0)20 ...`, digits with the country code but no `+`, full-width digits, vanity letters, labels
    like "Tel:" or "(mobile)" and extensions (dropped). Local numbers without an area code and free text give None
    rather than a guess.
    """
    numbers = stored_numbers(raw, default_region=default_region)
    return numbers[0] if numbers else None


def stored_numbers(raw: str | None, *, default_region: str) -> list[str]:
    """The E.164 keys of every number a stored `phone`/`mobile` value holds, in the order written; [] for none.

    The text is first read in Unicode's compatibility form (NFKC: full-width digits are digits), labels are
    dropped (`Tel:`, `Mob.`, `(mobile)`, `work`), then the value is split where people put several numbers in one
    field (`;`, `,`, `|`, a line break, ` / `, ` or `). A piece that is not one number is split at `/` too, but only
    when every part is a full number: a German `030/23125412` is one number. Vanity letters count as digits
    (`1-800-FLOWERS`), and Mexico's retired mobile prefix (`+52 1 55 ...`) is dropped.
    """
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if not text or len(text) > _MAX_INPUT_CHARS:
        return []
    numbers: list[str] = []
    for piece in _SEVERAL_NUMBERS_RE.split(text):
        found = _one_stored_number(piece, default_region)
        parts = [_one_stored_number(part, default_region) for part in piece.split("/")] if "/" in piece else []
        if found is None and len(parts) > 1 and all(parts):
            numbers += [part for part in parts if part]
        elif found is not None:
            numbers.append(found)
    return list(dict.fromkeys(numbers))


def _one_stored_number(piece: str, default_region: str) -> str | None:
    text = _LABEL_AFTER_RE.sub("", _LABEL_BEFORE_RE.sub("", piece.strip())).strip()
    text = _VANITY_RE.sub(lambda letters: phonenumbers.convert_alpha_characters_in_number(letters[0]), text)
    if not text or len(_NON_DIGITS_RE.sub("", _EXTENSION_START_RE.split(text, maxsplit=1)[0])) < _MIN_DIGITS:
        return None
    number = _parse_best(text, _region(default_region))
    if number is None or phonenumbers.is_possible_number_with_reason(number) != ValidationResult.IS_POSSIBLE:
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def search_variants(e164: str, *, tenant_region: str = "", max_query_chars: int = 2 * 512) -> list[str]:
    """The spellings under which Freshdesk may store `e164`, most likely first, without duplicates.

    Freshdesk matches stored strings exactly, so each spelling is a separate search term. The list starts with the
    E.164 form itself, unless `tenant_region` (the tenant's default region) is the number's own: its contacts'
    numbers are then mostly typed nationally, so national spellings come first. It is cut where even a one-field query
    (`"phone:'a' OR phone:'b' ..."`) would pass `max_query_chars` (two searches' worth: `contact_search_queries`
    splits them). Raises ValueError if `e164` is not an E.164 number.
    """
    number = _parse_e164(e164)
    digits = e164[1:]
    country_code = str(number.country_code)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    international = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    national_digits = _NON_DIGITS_RE.sub("", national)
    national_groups = _DIGIT_GROUPS_RE.findall(national)
    # The international format's groups after the country code, e.g. ["20", "7946", "0958"].
    international_groups = _DIGIT_GROUPS_RE.findall(international)[1:]
    significant = phonenumbers.national_significant_number(number)
    region = phonenumbers.region_code_for_number(number) or phonenumbers.region_code_for_country_code(
        number.country_code
    )
    trunk_prefix = phonenumbers.ndd_prefix_for_region(region, True) or ""
    is_nanp = number.country_code == 1

    spaced_international = f"+{country_code} {' '.join(international_groups)}"
    # Most likely first: what phonenumbers and people write most, then the punctuation people vary, then forms
    # seen in imports (exit prefixes, national digits without the trunk prefix).
    candidates: list[str] = [e164, national, international, national_digits, digits, spaced_international]
    if not is_nanp:
        # Outside North America the international exit prefix and the "(0)" trunk habit are as common as the
        # punctuation variants below, so they go first (a query keeps only ~9 spellings over phone and mobile).
        candidates += [f"00{country_code} {' '.join(international_groups)}", f"00{digits}"]
        if trunk_prefix and national_digits.startswith(trunk_prefix):
            candidates.append(f"+{country_code} ({trunk_prefix}){' '.join(international_groups)}")
    candidates += ["-".join(national_groups), " ".join(national_groups), ".".join(national_groups)]
    if is_nanp and len(national_groups) == 3:
        area, exchange, line = national_groups
        candidates += [
            f"1-{area}-{exchange}-{line}",
            f"+1 ({area}) {exchange}-{line}",
            f"1 ({area}) {exchange}-{line}",
            f"({area}){exchange}-{line}",
            f"+1-{area}-{exchange}-{line}",
            f"00{digits}",
        ]
    else:
        if trunk_prefix and national_digits.startswith(trunk_prefix):
            # The UK/European habit of writing the trunk prefix in parentheses after the country code.
            candidates += [
                f"+{country_code} ({trunk_prefix}){' '.join(international_groups)}",
                f"+{country_code} ({trunk_prefix}) {' '.join(international_groups)}",
            ]
        candidates += [
            f"00{digits}",
            f"00{country_code} {' '.join(international_groups)}",
            f"+{country_code}-{'-'.join(international_groups)}",
            # Some imports drop the trunk prefix but keep the national digits.
            significant,
            f"011{digits}",
        ]

    if tenant_region and tenant_region.upper() == region:
        # A stable sort: national spellings first, each group in its own order of likelihood.
        candidates.sort(key=lambda candidate: candidate.startswith(("+", "00", "011")))
    variants: list[str] = []
    query_chars = 2  # the enclosing double quotes
    for candidate in candidates:
        if not candidate or candidate in variants:
            continue
        clause_chars = len(f"phone:'{candidate}'") + (len(" OR ") if variants else 0)
        if query_chars + clause_chars > max_query_chars:
            break
        variants.append(candidate)
        query_chars += clause_chars
    return variants


def contact_search_query(
    variants: list[str], fields: tuple[str, ...] = ("phone", "mobile"), max_chars: int = 512
) -> str:
    """A Freshdesk contact-search query for `variants` over `fields`, without the enclosing double quotes.

    Shape: `phone:'v1' OR mobile:'v1' OR phone:'v2' OR ...`. Variants are taken in order and the least likely ones
    (the tail) are dropped so that the query *with* its enclosing double quotes is at most `max_chars` long, the
    limit Freshdesk enforces (reference/freshdesk.md §4). Raises ValueError for a variant containing a quote or a
    backslash (Freshdesk's query language has no escape for them, and a phone never needs them), for a field that
    is not a plain name, for an empty list, or when not even the first variant fits.
    """
    return _query_of(variants, fields, max_chars)[0]


def contact_search_queries(
    variants: list[str], fields: tuple[str, ...] = ("phone", "mobile"), max_chars: int = 512, max_queries: int = 2
) -> list[str]:
    """`contact_search_query` for all of `variants`: the variants the first query cannot hold go into a second
    (and so on, up to `max_queries`) instead of being dropped. Raises as `contact_search_query` does."""
    queries: list[str] = []
    rest = variants
    while rest and len(queries) < max_queries:
        query, used = _query_of(rest, fields, max_chars)
        queries.append(query)
        rest = rest[used:]
    return queries


def _query_of(variants: list[str], fields: tuple[str, ...], max_chars: int) -> tuple[str, int]:
    """The query holding the most of `variants` (from the first) within `max_chars`, and how many it holds."""
    if not variants or not fields:
        raise ValueError("contact_search_query needs at least one variant and one field.")
    for field in fields:
        # Field names may come from the admin (a custom phone field); only plain names can go into a query.
        if not _FIELD_NAME_RE.match(field):
            raise ValueError(f"{field!r} is not a Freshdesk contact field name.")
    clauses: list[str] = []
    length = 2  # the enclosing double quotes
    used = 0
    for variant in variants:
        if any(char in variant for char in "'\"\\"):
            raise ValueError(f"Refusing to put {variant!r} in a Freshdesk query: it contains a quote or backslash.")
        variant_clauses = [f"{field}:'{variant}'" for field in fields]
        added = len(" OR ".join(variant_clauses)) + (len(" OR ") if clauses else 0)
        if length + added > max_chars:
            break
        clauses += variant_clauses
        length += added
        used += 1
    if not clauses:
        raise ValueError(f"The variant {variants[0]!r} alone does not fit in a {max_chars}-character query.")
    return " OR ".join(clauses), used


def _region(default_region: str) -> str:
    """The upper-cased region code, or "ZZ" (unknown) so that only numbers with a country code can be read."""
    region = (default_region or "").strip().upper()
    return region if region in phonenumbers.SUPPORTED_REGIONS else "ZZ"


def _strip_uri(text: str) -> tuple[str, str | None]:
    """The number part of a `tel:`/`sip:` URI (or of a plain string) and its `;ext=` extension, if any."""
    if "<" in text and ">" in text:
        # A SIP name-addr such as `"Anonymous" <sip:anonymous@anonymous.invalid>`.
        text = text[text.index("<") + 1 : text.index(">", text.index("<"))]
    lowered = text.lower()
    for scheme in ("tel:", "sip:", "sips:"):
        if lowered.startswith(scheme):
            text = text[len(scheme) :]
            if scheme != "tel:":
                text = text.split("@", 1)[0]
            break
    else:
        if "@" in text:
            return text, None
    number_part, *params = unquote(text).split(";")
    extension = None
    for param in params:
        match = _EXTENSION_PARAM_RE.match(param.strip())
        if match:
            extension = match.group("ext")
    return number_part.strip(), extension


def _hidden_outcome(number_part: str) -> Literal["anonymous", "withheld"] | None:
    token = re.sub(r"[^a-z]", "", number_part.lower())
    if token in _ANONYMOUS_TOKENS:
        return "anonymous"
    if token in _WITHHELD_TOKENS:
        return "withheld"
    return None


def _hidden_number(raw: str, outcome: Literal["anonymous", "withheld"]) -> CallerNumber:
    """The no-lookup result for a caller whose number the network hides."""
    if outcome == "anonymous":
        return CallerNumber(
            raw, None, "Anonymous", "anonymous", "The caller is anonymous; there is no number to look up."
        )
    return CallerNumber(
        raw, None, "Withheld", "withheld", "The caller withheld their number; there is nothing to look up."
    )


def _no_lookup(raw: str, outcome: CallerOutcome, reason: str) -> CallerNumber:
    # The panel shows what arrived, shortened: it is untrusted text and is escaped where rendered.
    display = raw if len(raw) <= 40 else raw[:39] + "…"
    return CallerNumber(raw=raw, e164=None, display=display, outcome=outcome, reason=reason)


def _international(number: PhoneNumber) -> str:
    without_extension = PhoneNumber(country_code=number.country_code, national_number=number.national_number)
    without_extension.italian_leading_zero = number.italian_leading_zero
    without_extension.number_of_leading_zeros = number.number_of_leading_zeros
    return phonenumbers.format_number(without_extension, PhoneNumberFormat.INTERNATIONAL)


def _parse(text: str, region: str) -> PhoneNumber | None:
    try:
        number = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    # Mexico dropped the "1" its mobiles were dialled with from abroad (+52 1 55 ...) in 2019; old records keep it.
    national = str(number.national_number)
    if number.country_code == 52 and len(national) == 11 and national.startswith("1"):
        number.national_number = int(national[1:])
    return number


def _parse_best(text: str, region: str) -> PhoneNumber | None:
    """The most plausible reading of `text`, or None.

    The default region's reading wins when it is valid, or when it is possible and no international-prefix reading
    is valid: a national number must never be re-read as international (a US `5550199999` is not Brazil's
    +55 50199999). Otherwise we try the readings `phonenumbers` misses: `00` and `011` international prefixes
    dialled outside the regions that use them (a US tenant's `0044 20 ...`, a UK tenant's `011 1 ...`, a Japanese
    tenant's `0081 ...` where the exit prefix is `010`) and digits carrying a country code without its `+`.
    A valid reading beats a merely possible one.
    """
    primary = _parse(text, region)
    primary_possibility = phonenumbers.is_possible_number_with_reason(primary) if primary is not None else None
    primary_possible = primary_possibility == ValidationResult.IS_POSSIBLE
    stripped = text.lstrip()
    if stripped.startswith("+") or (primary_possible and phonenumbers.is_valid_number(primary)):
        return primary
    digits = _NON_DIGITS_RE.sub("", _EXTENSION_START_RE.split(stripped, maxsplit=1)[0])
    alternatives: list[str] = []
    if digits.startswith("011"):
        alternatives.append("+" + digits[3:])
    if digits.startswith("00"):
        alternatives.append("+" + digits[2:])
    # A country code without its `+` makes the national reading too long; a too-short national reading is a local
    # number missing its area code, and prefixing it with `+` would only invent a foreign number. Without a known
    # default region there is no national reading to compare with, so no guess either.
    primary_too_long = primary is None or primary_possibility in (
        ValidationResult.TOO_LONG,
        ValidationResult.INVALID_LENGTH,
    )
    if region != "ZZ" and primary_too_long and not digits.startswith("0"):
        alternatives.append("+" + digits)
    possible = [
        number
        for number in (_parse(alternative, region) for alternative in alternatives)
        if number is not None and phonenumbers.is_possible_number_with_reason(number) == ValidationResult.IS_POSSIBLE
    ]
    valid = [number for number in possible if phonenumbers.is_valid_number(number)]
    # A reading that only prefixed the digits with `+` must be valid, not merely possible: a French tenant's
    # "(555) 019-9999" is a US number written without its country code, not Brazil's +55 50199999.
    dialled = [
        number
        for number in possible
        if digits.startswith(("00", "011"))
        and phonenumbers.format_number(number, PhoneNumberFormat.E164) != "+" + digits
    ]
    # No country's national numbers start with 00, so a possible 00 reading beats a possible-but-invalid national one.
    if valid:
        chosen = valid[0]
    elif dialled and (not primary_possible or digits.startswith("00")):
        chosen = dialled[0]
    else:
        return primary
    if primary is not None and primary.extension:
        chosen.extension = primary.extension
    return chosen


def _parse_e164(e164: str) -> PhoneNumber:
    if not e164.startswith("+"):
        raise ValueError(f"{e164!r} is not an E.164 number (it must start with '+').")
    number = _parse(e164, "ZZ")
    if number is None or phonenumbers.format_number(number, PhoneNumberFormat.E164) != e164:
        raise ValueError(f"{e164!r} is not an E.164 number.")
    return number
