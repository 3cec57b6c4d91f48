"""The search query language, text folding, typo tolerance and the facets' date buckets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from boxoffice.search.service import date_buckets
from boxoffice.search.text import (
    MAX_TERMS,
    fold,
    parse_query,
    swaps_and_deletions,
    tolerant_match,
    within_one_edit,
)

BERLIN = ZoneInfo("Europe/Berlin")


def terms(*words: str) -> tuple[tuple[str, ...], ...]:
    return tuple((word,) for word in words)


class TestParseQuery:
    def test_words_are_folded_terms(self) -> None:
        parsed = parse_query("Jazz  NIGHT Café")
        assert parsed.required == terms("jazz", "night", "cafe")
        assert parsed.excluded == ()
        assert not parsed.is_empty

    def test_quoted_phrase_is_one_term(self) -> None:
        parsed = parse_query('"String Quartet" live')
        assert parsed.required == (("string", "quartet"), ("live",))

    def test_exclusions_of_words_and_phrases(self) -> None:
        parsed = parse_query('jazz -rock -"Heavy Metal"')
        assert parsed.required == terms("jazz")
        assert parsed.excluded == (("rock",), ("heavy", "metal"))

    def test_only_exclusions(self) -> None:
        parsed = parse_query("-rock")
        assert parsed.required == ()
        assert parsed.excluded == terms("rock")
        assert not parsed.is_empty

    @pytest.mark.parametrize(
        ("text", "required"),
        [
            ('"string quartet', (("string", "quartet"),)),  # the closing quote is optional
            ('jazz "', terms("jazz")),
            ('"', ()),
            ('""', ()),
            ('"" jazz', terms("jazz")),
            ('xa "xb xc" "xd', (("xa",), ("xb", "xc"), ("xd",))),
            ('say "hi there', (("say",), ("hi", "there"))),
        ],
    )
    def test_unbalanced_and_empty_quotes(
        self, text: str, required: tuple[tuple[str, ...], ...]
    ) -> None:
        parsed = parse_query(text)
        assert parsed.required == required
        assert parsed.excluded == ()

    def test_unbalanced_negated_phrase(self) -> None:
        parsed = parse_query('jazz -"heavy metal')
        assert parsed.required == terms("jazz")
        assert parsed.excluded == (("heavy", "metal"),)

    @pytest.mark.parametrize(
        ("text", "required"),
        [
            ("plain:*", terms("plain")),
            ("plain:* | !save", terms("plain", "save")),
            ("xa & xb | xc ! xd", terms("xa", "xb", "xc", "xd")),
            ("(jazz)", terms("jazz")),
            ("jazz*", terms("jazz")),
            ("rock&roll", terms("rock", "roll")),
            ("o'neil", terms("o", "neil")),
            ("back\\slash", terms("back", "slash")),
            ("xa <-> xb", terms("xa", "xb")),
            ("NEAR(xa xb)", terms("near", "xa", "xb")),
            ("title:jazz", terms("title", "jazz")),
            ("snake_case", terms("snake", "case")),
            ("'; DROP TABLE events; --", terms("drop", "table", "events")),
            ("1' OR '1'='1", terms("1")),  # "or" is a stop word, never an operator
            ("50%", terms("50")),
        ],
    )
    def test_operators_and_punctuation_are_not_syntax(
        self, text: str, required: tuple[tuple[str, ...], ...]
    ) -> None:
        parsed = parse_query(text)
        assert parsed.required == required
        assert parsed.excluded == ()

    @pytest.mark.parametrize(
        "text", ["", "   ", "*", ":*", "&|!", "-", "--", "- -", '-"', "()", "<->", "%", "'\\"]
    )
    def test_nothing_but_punctuation_is_empty(self, text: str) -> None:
        parsed = parse_query(text)
        assert parsed.is_empty
        assert parsed.required == parsed.excluded == ()

    def test_double_dash_is_an_exclusion(self) -> None:
        assert parse_query("--rock").excluded == terms("rock")

    def test_hyphenated_word_is_not_an_exclusion(self) -> None:
        parsed = parse_query("jazz-club")
        assert parsed.required == terms("jazz", "club")
        assert parsed.excluded == ()

    def test_duplicates_are_dropped(self) -> None:
        parsed = parse_query("jazz Jazz JAZZ -rock -rock")
        assert parsed.required == terms("jazz")
        assert parsed.excluded == terms("rock")

    def test_terms_are_capped(self) -> None:
        many = [f"w{chr(ord('a') + n)}x" for n in range(MAX_TERMS + 8)]
        parsed = parse_query(" ".join(many))
        assert parsed.required == terms(*many[:MAX_TERMS])

    def test_exclusions_count_towards_the_cap(self) -> None:
        words = [f"w{chr(ord('a') + n)}x" for n in range(MAX_TERMS + 4)]
        text = " ".join(f"-{word}" if n % 2 else word for n, word in enumerate(words))
        parsed = parse_query(text)
        assert len(parsed.required) + len(parsed.excluded) == MAX_TERMS
        assert parsed.required == terms(*words[0:MAX_TERMS:2])
        assert parsed.excluded == terms(*words[1:MAX_TERMS:2])

    def test_a_token_that_splits_into_many_words_is_capped_too(self) -> None:
        token = "-".join(f"w{chr(ord('a') + n)}x" for n in range(MAX_TERMS + 8))
        parsed = parse_query(token)
        assert len(parsed.required) + len(parsed.excluded) <= MAX_TERMS

    def test_long_words_are_kept_whole(self) -> None:
        parsed = parse_query("x" * 100)
        assert parsed.required == terms("x" * 100)

    def test_stop_words_are_dropped_outside_phrases(self) -> None:
        assert parse_query("the rock or roll").required == terms("rock", "roll")
        assert parse_query("-the").is_empty
        assert parse_query('"rock and roll"').required == (("rock", "and", "roll"),)

    def test_engine_syntax_is_rebuilt_from_clean_words(self) -> None:
        parsed = parse_query('jazz "string quartet" -rock -"heavy metal"')
        assert parsed.websearch() == '"jazz" "string quartet" -"rock" -"heavy metal"'
        assert parsed.fts5() == ('"jazz" AND "string quartet"', '"rock" OR "heavy metal"')
        assert parse_query("-rock").fts5() == (None, '"rock"')
        assert parse_query("jazz").fts5() == ('"jazz"', None)

    @settings(max_examples=200, deadline=None)
    @given(st.text())
    def test_any_text_gives_only_word_characters(self, text: str) -> None:
        parsed = parse_query(text)
        assert len(parsed.required) + len(parsed.excluded) >= 0
        for phrase in (*parsed.required, *parsed.excluded):
            assert phrase
            for word in phrase:
                assert word
                assert word.isalnum(), word  # no quotes, operators or spaces reach an engine
                assert word == fold(word)


class TestFold:
    @pytest.mark.parametrize(
        ("text", "folded"),
        [
            ("Café  Zürich", "cafe zurich"),
            ("ÉCOLE", "ecole"),
            ("Crème Brûlée", "creme brulee"),
            ("São Paulo", "sao paulo"),
            ("Straße", "strasse"),
            ("ﬁne", "fine"),  # a ligature
            ("e\u0301te\u0301", "ete"),  # combining acute accents
            ("  new\tyork\n ", "new york"),
            ("", ""),
        ],
    )
    def test_folds_case_accents_and_spaces(self, text: str, folded: str) -> None:
        assert fold(text) == folded

    def test_precomposed_and_decomposed_fold_alike(self) -> None:
        assert fold("Z\u00fcrich") == fold("Zu\u0308rich") == "zurich"


class TestWithinOneEdit:
    @pytest.mark.parametrize(
        ("a", "b"),
        [
            ("berlin", "berlin"),
            ("berlin", "berlim"),  # substitution
            ("berlin", "berlinn"),  # insertion
            ("berlin", "berin"),  # deletion
            ("berlin", "berlni"),  # adjacent swap
            ("munich", "muncih"),
            ("berlin", "eberlin"),
            ("", "a"),
        ],
    )
    def test_one_edit_or_none(self, a: str, b: str) -> None:
        assert within_one_edit(a, b)
        assert within_one_edit(b, a)

    @pytest.mark.parametrize(
        ("a", "b"),
        [
            ("berlin", "bxrlxn"),  # two substitutions
            ("berlin", "nerlib"),  # a swap of letters that are not neighbours
            ("berlin", "berlinxx"),
            ("berlin", "brlinx"),
            ("abc", "cab"),
            ("", "ab"),
        ],
    )
    def test_more_than_one_edit(self, a: str, b: str) -> None:
        assert not within_one_edit(a, b)
        assert not within_one_edit(b, a)


class TestTolerantMatch:
    @pytest.mark.parametrize(
        ("prefix", "key", "quality"),
        [
            ("ber", "berlin", 0),
            ("berlin", "berlin", 0),
            ("new y", "new york", 0),
            ("york", "new york", 1),
            ("jaz", "late night jazz", 1),
            ("night ja", "late night jazz", 1),
            ("berlni", "berlin", 2),
            ("muncih", "munich", 2),
            ("brelin", "new berlin", 2),
            ("jazx", "late night jazz", 2),  # one typo in the start of a word
            ("zurihc", "zurich", 2),
        ],
    )
    def test_quality(self, prefix: str, key: str, quality: int) -> None:
        assert tolerant_match(prefix, key) == quality

    @pytest.mark.parametrize(
        ("prefix", "key"),
        [
            ("ork", "new york"),  # inside a word, not at its start
            ("bxr", "berlin"),  # three letters: no typo tolerated
            ("brl", "berlin"),
            ("xyzw", "berlin"),
            ("bxrlxn", "berlin"),  # two typos
            ("berlinerx", "berlin"),
        ],
    )
    def test_no_match(self, prefix: str, key: str) -> None:
        assert tolerant_match(prefix, key) is None


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def buckets(now: datetime, zone: ZoneInfo = BERLIN) -> dict[str, tuple[datetime, datetime]]:
    found = date_buckets(now, zone)
    assert [bucket.name for bucket in found] == [
        "today",
        "this_weekend",
        "next_7_days",
        "this_month",
    ]
    for bucket in found:
        assert bucket.starts_after.utcoffset() == timedelta(0)
        assert bucket.starts_after < bucket.starts_before
    return {bucket.name: (bucket.starts_after, bucket.starts_before) for bucket in found}


class TestDateBuckets:
    def test_on_a_thursday(self) -> None:
        # 14:00 in Berlin (CEST, UTC+2).
        found = buckets(utc(2026, 6, 11, 12, 0))
        assert found["today"] == (utc(2026, 6, 10, 22), utc(2026, 6, 11, 22))
        assert found["this_weekend"] == (utc(2026, 6, 12, 22), utc(2026, 6, 14, 22))
        assert found["next_7_days"] == (utc(2026, 6, 10, 22), utc(2026, 6, 17, 22))
        assert found["this_month"] == (utc(2026, 6, 10, 22), utc(2026, 6, 30, 22))

    def test_on_a_saturday_the_weekend_starts_today(self) -> None:
        found = buckets(utc(2026, 3, 7, 10, 0))  # 11:00 CET
        assert found["today"] == (utc(2026, 3, 6, 23), utc(2026, 3, 7, 23))
        assert found["this_weekend"] == (utc(2026, 3, 6, 23), utc(2026, 3, 8, 23))
        assert found["next_7_days"] == (utc(2026, 3, 6, 23), utc(2026, 3, 13, 23))
        # The month ends after the change to summer time (29 March): midnight is 22:00 UTC.
        assert found["this_month"] == (utc(2026, 3, 6, 23), utc(2026, 3, 31, 22))

    def test_on_a_sunday_the_weekend_is_what_is_left_of_it(self) -> None:
        found = buckets(utc(2026, 3, 8, 20, 0))  # 21:00 CET
        assert found["today"] == (utc(2026, 3, 7, 23), utc(2026, 3, 8, 23))
        assert found["this_weekend"] == found["today"]

    def test_the_local_day_decides_not_the_utc_day(self) -> None:
        # Friday 22:30 UTC is already Saturday 00:30 in Berlin.
        found = buckets(utc(2026, 6, 12, 22, 30))
        assert found["today"] == (utc(2026, 6, 12, 22), utc(2026, 6, 13, 22))
        assert found["this_weekend"] == (utc(2026, 6, 12, 22), utc(2026, 6, 14, 22))
        # And the last evening of June in UTC is already July in Berlin.
        july = buckets(utc(2026, 6, 30, 23, 30))
        assert july["this_month"] == (utc(2026, 6, 30, 22), utc(2026, 7, 31, 22))

    def test_the_same_instant_in_another_zone(self) -> None:
        found = buckets(utc(2026, 6, 12, 22, 30), ZoneInfo("America/New_York"))
        # 18:30 on Friday in New York (EDT, UTC-4).
        assert found["today"] == (utc(2026, 6, 12, 4), utc(2026, 6, 13, 4))
        assert found["this_weekend"] == (utc(2026, 6, 13, 4), utc(2026, 6, 15, 4))

    def test_spring_forward_day_has_23_hours(self) -> None:
        found = buckets(utc(2026, 3, 29, 12, 0))  # Sunday, the day summer time starts
        assert found["today"] == (utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))
        assert found["today"][1] - found["today"][0] == timedelta(hours=23)
        saturday = buckets(utc(2026, 3, 28, 12, 0))
        assert saturday["this_weekend"] == (utc(2026, 3, 27, 23), utc(2026, 3, 29, 22))

    def test_fall_back_day_has_25_hours(self) -> None:
        found = buckets(utc(2026, 10, 25, 12, 0))  # Sunday, the day summer time ends
        assert found["today"] == (utc(2026, 10, 24, 22), utc(2026, 10, 25, 23))
        assert found["today"][1] - found["today"][0] == timedelta(hours=25)
        thursday = buckets(utc(2026, 10, 22, 12, 0))
        assert thursday["this_weekend"] == (utc(2026, 10, 23, 22), utc(2026, 10, 25, 23))
        assert thursday["next_7_days"] == (utc(2026, 10, 21, 22), utc(2026, 10, 28, 23))

    def test_last_day_of_the_year(self) -> None:
        found = buckets(utc(2026, 12, 31, 12, 0))  # Thursday
        assert found["today"] == (utc(2026, 12, 30, 23), utc(2026, 12, 31, 23))
        assert found["this_month"] == found["today"]
        assert found["this_weekend"] == (utc(2027, 1, 1, 23), utc(2027, 1, 3, 23))
        assert found["next_7_days"] == (utc(2026, 12, 30, 23), utc(2027, 1, 6, 23))

    @pytest.mark.parametrize(
        ("now", "month_end"),
        [
            (utc(2026, 1, 31, 12), utc(2026, 1, 31, 23)),
            (utc(2026, 2, 1, 12), utc(2026, 2, 28, 23)),
            (utc(2028, 2, 26, 12), utc(2028, 2, 29, 23)),  # a leap year
            (utc(2026, 4, 30, 12), utc(2026, 4, 30, 22)),
        ],
    )
    def test_this_month_ends_at_the_next_first(self, now: datetime, month_end: datetime) -> None:
        assert buckets(now)["this_month"][1] == month_end


class TestSwapsAndDeletions:
    def test_a_swap_of_neighbours_or_a_missing_letter(self) -> None:
        variants = swaps_and_deletions("brelin")
        assert "berlin" in variants  # the swap that trigram similarity scores 0.29
        assert "brlin" in variants
        assert "brelin" not in variants

    def test_every_variant_is_one_edit_away(self) -> None:
        for variant in swaps_and_deletions("munich"):
            assert within_one_edit("munich", variant)
