"""SemVer 2.0.0 precedence and the range grammar of docs/format.md.

The peers' own fixture tables are transcribed in tests/test_versions_oracle.py.
"""

from __future__ import annotations

import functools
import re
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kube.formula.versions import Comparator, Version, VersionError, VersionRange

V = Version.parse
R = VersionRange.parse

CHAIN = [
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
]
RANGE_PREFIX = 'expected a range like "1.9 < x <= 1.10" or ">=1.9, <2", got '
HYPHEN = " (a hyphen range needs a version on each side, like 1.2 - 2.3)"
VERSION_PREFIX = 'expected a SemVer version like "1.2.3" or "1.0.0-rc.1", got '

# The regular expression published on semver.org, with \d narrowed to ASCII digits.
OFFICIAL = re.compile(
    r"^(?P<major>0|[1-9][0-9]*)\.(?P<minor>0|[1-9][0-9]*)\.(?P<patch>0|[1-9][0-9]*)"
    r"(?:-(?P<prerelease>(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)"
    r"(?:\.(?:0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+(?P<buildmetadata>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)


def spec_compare(a: Version, b: Version) -> int:
    """SemVer section 11, written out step by step as a reference."""
    for x, y in ((a.major, b.major), (a.minor, b.minor), (a.patch, b.patch)):
        if x != y:
            return -1 if x < y else 1
    if not a.prerelease or not b.prerelease:
        return (not a.prerelease) - (not b.prerelease)
    for x, y in zip(a.prerelease, b.prerelease, strict=False):
        if x == y:
            continue
        if isinstance(x, int) and isinstance(y, int):
            return -1 if x < y else 1
        if isinstance(x, int) != isinstance(y, int):
            return -1 if isinstance(x, int) else 1
        return -1 if str(x) < str(y) else 1
    return (len(a.prerelease) > len(b.prerelease)) - (len(a.prerelease) < len(b.prerelease))


alnum_ids = st.from_regex(r"[0-9]*[A-Za-z-][0-9A-Za-z-]{0,3}", fullmatch=True)
pre_ids = st.one_of(st.integers(0, 12), alnum_ids)
prereleases = st.lists(pre_ids, max_size=3).map(tuple)
builds = st.lists(st.from_regex(r"[0-9A-Za-z-]{1,4}", fullmatch=True), max_size=2).map(tuple)
versions = st.builds(Version, st.integers(0, 4), st.integers(0, 4), st.integers(0, 4), prereleases, builds)
releases = st.builds(Version, st.integers(0, 4), st.integers(0, 4), st.integers(0, 4))


# Versions


def test_precedence_follows_the_semver_chain() -> None:
    parsed = [V(text) for text in CHAIN]
    assert sorted(parsed) == parsed
    for lower, higher in pairwise(parsed):
        assert lower < higher
        assert not higher < lower
        assert lower != higher


def test_build_metadata_is_ignored_for_precedence_but_kept_in_text() -> None:
    assert V("1.0.0+build.1") == V("1.0.0+build.2") == V("1.0.0")
    assert hash(V("1.0.0+build.1")) == hash(V("1.0.0"))
    assert str(V("1.0.0-rc.1+exp.sha.5114f85")) == "1.0.0-rc.1+exp.sha.5114f85"
    assert V("1.0.0+001").build == ("001",)  # build identifiers may have leading zeros


def test_parse_splits_prerelease_into_numbers_and_strings() -> None:
    v = V("1.2.3-alpha.10.0a")
    assert (v.major, v.minor, v.patch) == (1, 2, 3)
    assert v.prerelease == ("alpha", 10, "0a")
    assert v.is_prerelease
    assert v.core == (1, 2, 3)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("v1.2.3", ' (drop the leading "v")'),
        ("1.2", " (a version needs major.minor.patch)"),
        ("01.2.3", ' (numeric part "01" has a leading zero)'),
        ("1.02.3", ' (numeric part "02" has a leading zero)'),
        ("1.2.3-01", ' (numeric part "01" has a leading zero)'),
        ("1.2.3-rc.01", ' (numeric part "01" has a leading zero)'),
        ("latest", ""),
        ("1.2.3-", ""),
        ("1.2.3-a..b", ""),
        ("1.2.3+", ""),
        (" 1.2.3", ""),
        ("1.2.3.4", ""),
    ],
)
def test_parse_rejects_what_semver_rejects_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(VersionError) as caught:
        V(text)
    assert str(caught.value) == f'{VERSION_PREFIX}"{text}"{reason}'


def test_parse_error_escapes_control_characters_and_shortens_long_text() -> None:
    with pytest.raises(VersionError) as caught:
        V("1.2.3\x1b[31m")
    assert str(caught.value) == VERSION_PREFIX + '"1.2.3\\u001b[31m"'
    with pytest.raises(VersionError) as caught:
        V("9" * 300)
    assert str(caught.value) == VERSION_PREFIX + '"' + "9" * 57 + '..." (too long)'


def test_parse_partial_pads_missing_parts_with_zeros() -> None:
    assert Version.parse_partial("1") == Version(1, 0, 0)
    assert Version.parse_partial("1.9") == Version(1, 9, 0)
    assert Version.parse_partial("1.9.3-rc.1") == V("1.9.3-rc.1")
    with pytest.raises(VersionError):
        Version.parse_partial("1.x")


@given(versions, versions)
def test_ordering_matches_the_spec_reference(a: Version, b: Version) -> None:
    expected = spec_compare(a, b)
    assert (a < b, a == b, a > b) == (expected < 0, expected == 0, expected > 0)
    assert (a <= b) == (expected <= 0)
    assert (hash(a) == hash(b)) or expected != 0


@given(st.lists(versions, min_size=2, max_size=8))
def test_sorting_agrees_with_the_reference_total_order(vs: list[Version]) -> None:
    by_spec = sorted(vs, key=functools.cmp_to_key(spec_compare))
    assert [spec_compare(x, y) for x, y in zip(sorted(vs), by_spec, strict=True)] == [0] * len(vs)


@given(versions)
def test_text_round_trips(v: Version) -> None:
    again = V(str(v))
    assert again == v
    assert again.build == v.build
    assert str(again) == str(v)


@given(st.text(alphabet="0123456789.-+abvx", max_size=14))
def test_parse_accepts_exactly_the_official_semver_grammar(text: str) -> None:
    try:
        V(text)
    except VersionError:
        assert OFFICIAL.match(text) is None
    else:
        assert OFFICIAL.match(text) is not None


# Ranges: each form of FORMAT.md


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        # A partial version stands for the whole series it names (npm, Masterminds).
        ("1.9 < x <= 1.10", ">=1.10.0, <1.11.0-0"),
        ("x >= 1.2", ">=1.2.0"),
        ("2 > x", "<2.0.0"),
        ("1.9.0 < x <= 1.10.0", ">1.9.0, <=1.10.0"),
        (">=1.9, <2", ">=1.9.0, <2.0.0"),
        (">=1.9 <2", ">=1.9.0, <2.0.0"),
        (">= 1.9 , < 2", ">=1.9.0, <2.0.0"),
        ("1.2.3", "=1.2.3"),
        ("=1.2.3", "=1.2.3"),
        ("==1.2.3", "=1.2.3"),
        ("!=1.2.3", "!=1.2.3"),
        ("1.9", ">=1.9.0, <1.10.0-0"),
        ("=1.9", ">=1.9.0, <1.10.0-0"),
        ("1", ">=1.0.0, <2.0.0-0"),
        ("<=1.10", "<1.11.0-0"),
        (">1.9", ">=1.10.0"),
        (">1", ">=2.0.0"),
        (">=1.2", ">=1.2.0"),
        ("<1.2", "<1.2.0"),
        ("!=1.9", "!=1.9"),
        ("!=1", "!=1"),
        ("!=1.x", "!=1"),
        ("!=1.9.*", "!=1.9"),
        ("^1.2.3", ">=1.2.3, <2.0.0-0"),
        ("^0.2.3", ">=0.2.3, <0.3.0-0"),
        ("^0.0.3", ">=0.0.3, <0.0.4-0"),
        ("^1.2", ">=1.2.0, <2.0.0-0"),
        ("^0.0", ">=0.0.0, <0.1.0-0"),
        ("^0", ">=0.0.0, <1.0.0-0"),
        ("^1.x", ">=1.0.0, <2.0.0-0"),
        ("^ 1.2 ^ 1", ">=1.2.0, <2.0.0-0, >=1.0.0, <2.0.0-0"),
        ("~1.2.3", ">=1.2.3, <1.3.0-0"),
        ("~1.2", ">=1.2.0, <1.3.0-0"),
        ("~1", ">=1.0.0, <2.0.0-0"),
        ("~1.2.3-beta.2", ">=1.2.3-beta.2, <1.3.0-0"),
        ("1.x", ">=1.0.0, <2.0.0-0"),
        ("1.X", ">=1.0.0, <2.0.0-0"),
        ("1.2.*", ">=1.2.0, <1.3.0-0"),
        ("1.x.x", ">=1.0.0, <2.0.0-0"),
        (">1.x", ">=2.0.0"),
        (">=1.x", ">=1.0.0"),
        ("<1.x", "<1.0.0"),
        ("<=1.2.x", "<1.3.0-0"),
        ("*", "*"),
        ("x", "*"),
        ("", "*"),
        (">=*", "*"),
        ("<=*", "*"),
        ("1.2.3 - 2.3.4", ">=1.2.3, <=2.3.4"),
        ("1.2 - 2.3", ">=1.2.0, <2.4.0-0"),
        ("x - 1.x", "<2.0.0-0"),
        ("1.0.0 - 2.0.0, <=1.5", ">=1.0.0, <=2.0.0, <1.6.0-0"),
        ("1.x || >=3, <4", ">=1.0.0, <2.0.0-0 || >=3.0.0, <4.0.0"),
        ("1.2.3||2.0.0", "=1.2.3 || =2.0.0"),
        (">=1.9,<2", ">=1.9.0, <2.0.0"),
        ("x > 2 < 1", ">=3.0.0, <1.0.0"),
    ],
)
def test_range_forms_expand_to_comparators(text: str, canonical: str) -> None:
    parsed = R(text)
    assert parsed.canonical == canonical
    assert str(parsed) == text


@pytest.mark.parametrize(
    ("text", "inside", "outside"),
    [
        ("1.9 < x <= 1.10", ["1.10.0", "1.10.1", "1.10.99"], ["1.9.1", "1.9.99", "1.11.0", "1.10.0-rc.1"]),
        ("1.9.0 < x <= 1.10.0", ["1.9.1", "1.10.0"], ["1.9.0", "1.10.1", "1.10.0-rc.1"]),
        ("1.9", ["1.9.0", "1.9.7"], ["1.8.9", "1.10.0", "1.9.1-rc.1"]),
        ("<=1.10", ["1.10.5", "0.0.0"], ["1.11.0", "1.11.0-rc.1", "1.10.6-rc.1"]),
        (">1.9", ["1.10.0", "2.0.0"], ["1.9.9", "1.10.0-rc.1"]),
        ("!=1.9", ["1.8.9", "1.10.0", "2.9.0"], ["1.9.0", "1.9.9", "1.9.1-rc.1"]),
        (">=1.9.0-rc.1 !=1.9", ["1.10.0", "1.9.0-rc.2"], ["1.9.0", "1.9.3"]),
        ("1.2 - 2.3", ["1.2.0", "2.3.9"], ["1.1.9", "2.4.0", "2.4.0-rc.1"]),
        (">=1.9, <2", ["1.9.0", "1.99.99"], ["1.8.9", "2.0.0", "2.0.0-rc.1"]),
        ("^1.2.3", ["1.2.3", "1.9.0"], ["1.2.2", "2.0.0", "1.3.0-beta"]),
        ("~1.2", ["1.2.0", "1.2.9"], ["1.3.0", "1.1.9"]),
        ("1.2.3", ["1.2.3", "1.2.3+build"], ["1.2.4", "1.2.3-rc.1"]),
        ("!=1.2.3", ["1.2.4", "0.0.0"], ["1.2.3", "1.2.4-rc.1"]),
        ("*", ["0.0.0", "99.0.0"], ["1.0.0-rc.1"]),
        ("1.x || 3.x", ["1.5.0", "3.0.0"], ["2.0.0", "4.0.0"]),
    ],
)
def test_range_contains_what_its_text_says(text: str, inside: list[str], outside: list[str]) -> None:
    parsed = R(text)
    assert all(V(v) in parsed for v in inside)
    assert not any(parsed.contains(V(v)) for v in outside)


def test_prerelease_matches_only_when_a_comparator_names_the_same_core() -> None:
    assert V("1.1.0-rc.1") not in R(">=1.0.0")
    assert V("1.1.0-rc.2") in R(">=1.1.0-rc.1")
    assert V("1.2.0-rc.1") not in R(">=1.1.0-rc.1")
    assert V("1.2.3-beta.3") in R("^1.2.3-beta.2")
    assert V("1.2.4-beta") not in R("^1.2.3-beta.2")
    assert V("2.0.0-rc.1") not in R("<2.0.0")
    assert V("2.0.0-rc.1") in R("<2.0.0 || >=2.0.0-rc.1 <2.0.0")


def test_in_is_false_for_non_versions() -> None:
    assert "1.0.0" not in R("*")


def test_highest_picks_the_greatest_version_inside() -> None:
    candidates = [V(t) for t in ("1.0.0", "1.5.0", "2.0.0", "1.6.0-rc.1")]
    assert R("^1").highest(candidates) == V("1.5.0")
    assert R(">3").highest(candidates) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("latest", RANGE_PREFIX + '"latest"'),
        ("v1.2.3", RANGE_PREFIX + '"v1.2.3" (drop the leading "v")'),
        (">=1.02", RANGE_PREFIX + '">=1.02" (numeric part "02" has a leading zero)'),
        (">=1.0.0-rc.01", RANGE_PREFIX + '">=1.0.0-rc.01" (numeric part "01" has a leading zero)'),
        (">=1.9, latest", RANGE_PREFIX + '">=1.9, latest" ("latest" is not a version)'),
        ("1.2.3 ||", RANGE_PREFIX + '"1.2.3 ||" (empty side of ||)'),
        (">=", RANGE_PREFIX + '">=" (a version must follow >=)'),
        (">=1,", RANGE_PREFIX + '">=1," (misplaced comma)'),
        (", >=1", RANGE_PREFIX + '", >=1" (misplaced comma)'),
        (">=1,, <2", RANGE_PREFIX + '">=1,, <2" (misplaced comma)'),
        ("<*", RANGE_PREFIX + '"<*" (nothing to compare with in <*)'),
        ("!=*", RANGE_PREFIX + '"!=*" (nothing to compare with in !=*)'),
        # An operator is not a term separator, as in npm and Masterminds.
        ("1.2.3^1.0", RANGE_PREFIX + '"1.2.3^1.0" (put a space or a comma before ^)'),
        (">=1.0.0<2.0.0", RANGE_PREFIX + '">=1.0.0<2.0.0" (put a space or a comma before <)'),
        ("1.9<x", RANGE_PREFIX + '"1.9<x" (put a space or a comma before <)'),
        ("1.2 - ", RANGE_PREFIX + '"1.2 - "' + HYPHEN),
        ("- 1.2", RANGE_PREFIX + '"- 1.2"' + HYPHEN),
        ("1 - 2 - 3", RANGE_PREFIX + '"1 - 2 - 3"' + HYPHEN),
        (">=1 - 2", RANGE_PREFIX + '">=1 - 2"' + HYPHEN),
        ("1.2.3 -2.0.0", RANGE_PREFIX + '"1.2.3 -2.0.0" ("-2.0.0" is not a version)'),
        # Other tools' operators: the error says how kube spells them.
        ("~>1.2", RANGE_PREFIX + '"~>1.2" (write ~ for ~>)'),
        ("=> 1.2", RANGE_PREFIX + '"=> 1.2" (write >= for =>)'),
        ("=<1.2", RANGE_PREFIX + '"=<1.2" (write <= for =<)'),
        ("1.x.3", RANGE_PREFIX + '"1.x.3"'),
        ("1.2.3.4", RANGE_PREFIX + '"1.2.3.4"'),
        ("1 | 2", RANGE_PREFIX + '"1 | 2"'),
    ],
)
def test_bad_ranges_raise_one_helpful_line(text: str, message: str) -> None:
    with pytest.raises(VersionError) as caught:
        R(text)
    assert str(caught.value) == message


@pytest.mark.parametrize("value", [1.1, 2, None])
def test_non_text_ranges_and_versions_are_rejected(value: object) -> None:
    with pytest.raises(VersionError, match="got"):
        R(value)  # type: ignore[arg-type]
    with pytest.raises(VersionError, match="got"):
        V(value)  # type: ignore[arg-type]


# Satisfiability


@pytest.mark.parametrize(
    ("text", "satisfiable"),
    [
        ("x > 2 < 1", False),
        (">=2, <1", False),
        (">1.0.0 <1.0.1", False),  # no release strictly between neighbours
        (">=1.0.0 <1.0.1", True),
        (">1.0.0 <=1.0.1", True),
        ("=1.0.0 !=1.0.0", False),
        (">=1.0.0 <=1.0.1 !=1.0.0 !=1.0.1", False),
        (">=1.0.0 <=1.0.2 !=1.0.0 !=1.0.1", True),
        ("<0.0.0", False),
        (">1.0.0-rc.1 <1.0.0-rc.1.0", False),  # rc.1.0 is rc.1's immediate successor
        (">1.0.0-rc.1 <1.0.0-rc.1.0.0", True),
        (">=1.0.0-rc.1 <1.0.0", True),
        (">1.0.0-alpha <1.0.0 !=1.0.0-alpha.0", True),
        (">=2.0.0-rc.1 >=2.0.0 <2.0.0", False),
        ("1.x || >3 <2", True),
        ("x > 2 < 1 || =0.0.0 !=0.0.0", False),
        ("*", True),
    ],
)
def test_is_satisfiable_detects_empty_ranges(text: str, satisfiable: bool) -> None:
    assert R(text).is_satisfiable() is satisfiable


# Properties of the grammar

CORE = st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3))
small_versions = st.builds(
    Version,
    st.integers(0, 4),
    st.integers(0, 4),
    st.integers(0, 4),
    st.sampled_from([(), (), ("alpha",), ("alpha", 1), ("beta",), (0,)]),
)


def caret_upper(major: int, minor: int, patch: int) -> Version:
    if major:
        return Version(major + 1, 0, 0)
    return Version(0, minor + 1, 0) if minor else Version(0, 0, patch + 1)


@given(CORE, small_versions)
def test_caret_equals_its_comparator_form(core: tuple[int, int, int], v: Version) -> None:
    base = Version(*core)
    expanded = R(f">={base}, <{caret_upper(*core)}-0")
    assert R(f"^{base}").contains(v) == expanded.contains(v)


@given(CORE, small_versions)
def test_tilde_equals_its_comparator_form(core: tuple[int, int, int], v: Version) -> None:
    major, minor, _ = core
    expanded = R(f">={Version(*core)}, <{Version(major, minor + 1, 0)}-0")
    assert R(f"~{Version(*core)}").contains(v) == expanded.contains(v)
    series = R(f">={major}.{minor}.0 <{major}.{minor + 1}.0-0")
    assert R(f"~{major}.{minor}").contains(v) == series.contains(v)


@given(st.integers(0, 3), st.integers(0, 3), small_versions)
def test_wildcards_equal_their_comparator_forms(major: int, minor: int, v: Version) -> None:
    assert R(f"{major}.x").contains(v) == R(f">={major}.0.0 <{major + 1}.0.0-0").contains(v)
    series = R(f">={major}.{minor}.0 <{major}.{minor + 1}.0-0")
    assert R(f"{major}.{minor}.*").contains(v) == series.contains(v)
    assert R(f"{major}.{minor}").contains(v) == R(f"{major}.{minor}.x").contains(v)


@given(st.integers(0, 3), st.one_of(st.none(), st.integers(0, 3)), releases)
def test_a_partial_version_stands_for_its_whole_series(major: int, minor: int | None, v: Version) -> None:
    # The definition: compare only the parts the partial version gives; a release is in
    # the series when those parts are equal, after it when they are greater.
    partial = f"{major}" if minor is None else f"{major}.{minor}"
    named = (major,) if minor is None else (major, minor)
    head = v.core[: len(named)]
    expected = {
        "": head == named,
        "=": head == named,
        "!=": head != named,
        "<=": head <= named,
        "<": head < named,
        ">=": head >= named,
        ">": head > named,
    }
    for op, inside in expected.items():
        assert R(f"{op}{partial}").contains(v) == inside, f"{op}{partial} {v}"
    assert R(f"{partial} < x <= {partial}").contains(v) is False
    assert R(f"{partial} - {partial}").contains(v) == (head == named)


@given(releases, releases, releases)
def test_half_open_range_contains_exactly_the_releases_between(a: Version, b: Version, v: Version) -> None:
    assert R(f"x >= {a}, <{b}").contains(v) == (a <= v < b)
    assert R(f"{a} < x <= {b}").contains(v) == (a < v <= b)


@given(small_versions, small_versions, small_versions)
def test_or_is_the_union_of_its_sides(a: Version, b: Version, v: Version) -> None:
    union = R(f"<={a} || >={b}")
    assert union.contains(v) == (R(f"<={a}").contains(v) or R(f">={b}").contains(v))


def _version_text(draw: st.DrawFn) -> str:
    parts = [str(draw(st.integers(0, 12))) for _ in range(draw(st.integers(1, 3)))]
    if len(parts) == 3 and draw(st.booleans()):
        return ".".join(parts) + draw(st.sampled_from(["-rc.1", "-alpha.beta", "+build.7", "-0"]))
    if draw(st.booleans()):
        parts[-1] = draw(st.sampled_from(["x", "X", "*"])) if len(parts) > 1 else parts[-1]
    return ".".join(parts)


@st.composite
def range_texts(draw: st.DrawFn) -> str:
    def term() -> str:
        version = _version_text(draw)
        wild = version.endswith(("x", "X", "*"))
        ops = ["", "^", "~", "=", "==", ">=", "<", "<=", ">"] + ([] if wild else ["!="])
        return draw(st.sampled_from(ops)) + draw(st.sampled_from(["", " "])) + version

    def and_set() -> str:
        kind = draw(st.sampled_from(["terms", "interval", "any"]))
        if kind == "any":
            return draw(st.sampled_from(["*", "x", ""]))
        if kind == "interval":
            low = draw(st.sampled_from(["", f"{_version_text(draw).rstrip('.xX*') or '1'} < "]))
            return f"{low}x" + draw(
                st.sampled_from(["", f" <= {'.'.join(str(draw(st.integers(0, 9))) for _ in 'ab')}"])
            )
        sep = draw(st.sampled_from([", ", " ", ","]))
        return sep.join(term() for _ in range(draw(st.integers(1, 3))))

    sets = [and_set() for _ in range(draw(st.integers(1, 3)))]
    if len(sets) > 1:
        sets = [s or "*" for s in sets]
    return " || ".join(sets)


@given(range_texts())
def test_range_text_round_trips_and_canonical_form_means_the_same(text: str) -> None:
    parsed = R(text)
    assert str(parsed) == text
    again = R(parsed.canonical)
    for v in (V("0.0.0"), V("1.0.0"), V("1.2.3"), V("2.0.0-rc.1"), V("10.10.10"), V("1.0.0-rc.1")):
        assert again.contains(v) == parsed.contains(v)


# Satisfiability against brute force. Comparators use versions whose parts are at most 2,
# with at most 4 comparators per set; any witness then lies in the grid below (the least
# candidate of a chain, moved up past at most 4 excluded versions).
GRID_PRE = [(), ("alpha",), ("alpha", 1), ("beta",), (0,)]
GRID_CORES = [(a, b, c) for a in range(3) for b in range(3) for c in range(3)]
_pre_closure = {p + (0,) * k for p in GRID_PRE if p for k in range(6)} | {(0,) * k for k in range(1, 7)}
GRID = [Version(a, b, c) for a in range(4) for b in range(4) for c in range(8)]
GRID += [Version(*core, pre) for core in GRID_CORES for pre in sorted(_pre_closure, key=str)]

comparators = st.one_of(
    st.builds(
        Comparator,
        st.sampled_from(["<", "<=", ">", ">=", "=", "!="]),
        st.builds(Version, *[st.integers(0, 2)] * 3, st.sampled_from(GRID_PRE)),
    ),
    # != with a partial version excludes a whole series; the walk jumps past it.
    st.builds(lambda m, n: R(f"!={m}.{n}").sets[0][0], st.integers(0, 2), st.integers(0, 2)),
    st.builds(lambda m: R(f"!={m}").sets[0][0], st.integers(0, 2)),
)


@settings(max_examples=300)
@given(st.lists(comparators, min_size=1, max_size=4))
def test_satisfiable_iff_some_version_is_inside(cs: list[Comparator]) -> None:
    parsed = R(", ".join(str(c) for c in cs))
    witness = next((v for v in GRID if parsed.contains(v)), None)
    assert parsed.is_satisfiable() == (witness is not None), witness
