"""SemVer 2.0.0 versions and the version-range grammar of docs/format.md.

Hand-written rather than built on ``packaging``: PEP 440 is not SemVer
(``1.0.0-alpha.beta`` is not a PEP 440 version, and pre-release precedence differs).

Ranges mean what they mean in npm (node-semver) and in Helm's Masterminds/semver, whose
fixture tables are the test oracle (tests/test_versions_oracle.py):

- A partial version stands for the whole series it names: ``1.9`` = ``1.9.x`` =
  ``>=1.9.0, <1.10.0-0``; ``<=1.10`` = ``<1.11.0-0``; ``>1.9`` = ``>=1.10.0``;
  ``>=1.9`` = ``>=1.9.0``; ``<1.10`` = ``<1.10.0`` (as in Masterminds; npm writes
  ``<1.10.0-0``, which differs only beside a comparator naming a 1.10.0 pre-release);
  ``!=1.9`` excludes every 1.9.x. So ``1.9 < x <= 1.10`` is any 1.10.x.
- Upper bounds that end a series are ``-0`` (``^1.2.3`` = ``>=1.2.3, <2.0.0-0``), so no
  pre-release of the next series slips in beside a comparator that names one.
- The pre-release rule is npm's: a pre-release matches an AND-set only if a comparator
  of that set names a pre-release of the same major.minor.patch (Masterminds admits any
  pre-release once any comparator of the set names one).
- An operator is not a term separator: ``1.2.3^1.0`` and ``>=1.0.0<2.0.0`` are errors,
  as in both peers.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeGuard

from kube.core.text import quote

__all__ = ["Comparator", "Version", "VersionError", "VersionRange"]

# Long enough for any real version; short enough that error messages and int() stay cheap.
MAX_TEXT = 256
RANGE_EXAMPLE = 'expected a range like "1.9 < x <= 1.10" or ">=1.9, <2"'
VERSION_EXAMPLE = 'expected a SemVer version like "1.2.3" or "1.0.0-rc.1"'

_NUM = r"0|[1-9][0-9]*"
_PRE_IDENT = r"(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)"
_BUILD_IDENT = r"[0-9A-Za-z-]+"
_SEMVER_RE = re.compile(
    rf"(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<pre>{_PRE_IDENT}(?:\.{_PRE_IDENT})*))?"
    rf"(?:\+(?P<build>{_BUILD_IDENT}(?:\.{_BUILD_IDENT})*))?"
)
_WORD_RE = re.compile(r"[0-9A-Za-z.+*-]+")


class VersionError(ValueError):
    """A version or range that does not parse; the message is one line for users."""


def _version_problem(text: str) -> str:
    """A short reason for the most common mistakes, to append to the error."""
    if text[:1] in ("v", "V") and _SEMVER_RE.fullmatch(text[1:]):
        return 'drop the leading "v"'
    for part in re.split(r"[.+-]", text.split("+", 1)[0]):
        if len(part) > 1 and part.isdigit() and part.startswith("0"):
            return f'numeric part "{part}" has a leading zero'
    parts = re.split(r"[-+]", text, maxsplit=1)[0].split(".")
    if all(p.isdigit() for p in parts) and len(parts) < 3:
        return "a version needs major.minor.patch"
    return ""


def _parse_prerelease(text: str | None) -> tuple[int | str, ...]:
    if text is None:
        return ()
    return tuple(int(i) if i.isdigit() else i for i in text.split("."))


@functools.total_ordering
@dataclass(frozen=True, eq=False, repr=False)
class Version:
    """A SemVer 2.0.0 version; ordering and equality follow SemVer precedence (build ignored)."""

    major: int
    minor: int
    patch: int
    prerelease: tuple[int | str, ...] = ()
    build: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Version:
        if not isinstance(text, str):
            raise VersionError(f"{VERSION_EXAMPLE}, got {type(text).__name__} {text!r}")
        match = _SEMVER_RE.fullmatch(text) if len(text) <= MAX_TEXT else None
        if match is None:
            reason = _version_problem(text) if len(text) <= MAX_TEXT else "too long"
            raise VersionError(f"{VERSION_EXAMPLE}, got {quote(text)}" + (f" ({reason})" if reason else ""))
        build = match["build"]
        return cls(
            int(match["major"]),
            int(match["minor"]),
            int(match["patch"]),
            _parse_prerelease(match["pre"]),
            tuple(build.split(".")) if build else (),
        )

    @classmethod
    def parse_partial(cls, text: str) -> Version:
        """``1`` / ``1.9`` / ``1.9.3`` (and full SemVer); missing parts are zero."""
        parts = text.split(".")
        if 1 <= len(parts) <= 2 and all(re.fullmatch(_NUM, p) for p in parts):
            return _release([int(p) for p in parts])
        return cls.parse(text)

    @property
    def core(self) -> tuple[int, int, int]:
        return (self.major, self.minor, self.patch)

    @property
    def is_prerelease(self) -> bool:
        return bool(self.prerelease)

    def _key(self) -> tuple[object, ...]:
        # A release sorts after all its pre-releases; numeric identifiers sort before
        # alphanumeric ones; a longer identifier list wins when all shared ones are equal.
        pre = tuple((0, i, "") if isinstance(i, int) else (1, 0, i) for i in self.prerelease)
        return (self.major, self.minor, self.patch, not self.prerelease, pre)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() == other._key()

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def next_patch(self) -> Version:
        """The least release greater than this version."""
        if self.prerelease:
            return Version(*self.core)
        return Version(self.major, self.minor, self.patch + 1)

    def __repr__(self) -> str:
        return f"Version({str(self)!r})"

    def __str__(self) -> str:
        text = f"{self.major}.{self.minor}.{self.patch}"
        if self.prerelease:
            text += "-" + ".".join(str(i) for i in self.prerelease)
        if self.build:
            text += "+" + ".".join(self.build)
        return text


_OPERATORS = {"<", "<=", ">", ">=", "=", "==", "!=", "^", "~"}
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "=", "==": "=", "!=": "!="}
_WILD = {"x", "X", "*"}
_COMPARE = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "=": operator.eq}
_COMPARE["!="] = operator.ne


@dataclass(frozen=True)
class Comparator:
    """One comparison, e.g. ``>=1.9.0``; ``op`` is one of < <= > >= = !=.

    ``until`` is set only for ``!=`` with a partial version: ``!=1.9`` excludes the whole
    series ``version <= v < until`` (``1.9.0 <= v < 1.10.0-0``), not just one version.
    """

    op: str
    version: Version
    until: Version | None = None

    def matches(self, v: Version) -> bool:
        if self.until is not None:
            return not self.version <= v < self.until
        return bool(_COMPARE[self.op](v, self.version))

    def __str__(self) -> str:
        if self.until is not None:
            # The parser builds only two shapes: !=1 (until 2.0.0-0) and !=1.9 (until 1.10.0-0).
            if self.until.major != self.version.major:
                return f"{self.op}{self.version.major}"
            return f"{self.op}{self.version.major}.{self.version.minor}"
        return f"{self.op}{self.version}"


AndSet = tuple[Comparator, ...]


def _set_matches(comparators: AndSet, v: Version) -> bool:
    if not all(c.matches(v) for c in comparators):
        return False
    if not v.prerelease:
        return True
    return any(c.version.prerelease and c.version.core == v.core for c in comparators)


def _successor(v: Version) -> Version:
    """The immediate successor of ``v`` in its chain (releases, or pre-releases of one core):
    ``x.y.z`` -> ``x.y.(z+1)``; ``x.y.z-p`` -> ``x.y.z-p.0``, since 0 is the least identifier."""
    if v.prerelease:
        return Version(v.major, v.minor, v.patch, (*v.prerelease, 0))
    return Version(v.major, v.minor, v.patch + 1)


def _lower_bound(comparators: AndSet) -> tuple[Version, bool] | None:
    best: tuple[Version, bool] | None = None
    for c in comparators:
        if c.op in (">", ">=", "="):
            inclusive = c.op != ">"
            if best is None or c.version > best[0] or (c.version == best[0] and not inclusive):
                best = (c.version, inclusive)
    return best


def _chain_start(lower: tuple[Version, bool] | None, core: tuple[int, int, int] | None) -> Version | None:
    """The least version satisfying ``lower`` among releases (core None) or pre-releases of ``core``."""
    if core is None:
        if lower is None:
            return Version(0, 0, 0)
        lo, inclusive = lower
        return lo if inclusive and not lo.prerelease else lo.next_patch()
    least = Version(*core, (0,))
    if lower is None or lower[0].core < core:
        return least
    lo, inclusive = lower
    if lo.core > core or not lo.prerelease:
        return None  # every pre-release of core is below lo
    return lo if inclusive else _successor(lo)


def _next_candidate(comparators: AndSet, v: Version) -> Version | None:
    """The next candidate of ``v``'s chain after ``v`` was rejected by a ``!=``."""
    following = _successor(v)
    for c in comparators:
        if c.until is None or c.matches(v):
            continue
        if v.prerelease:
            return None  # a series holds every pre-release of a core inside it
        following = max(following, Version(*c.until.core))  # the first release past the series
    return following


def _set_satisfiable(comparators: AndSet) -> bool:
    # Walk each chain upward from its least candidate; only != can reject a candidate that
    # is still below every upper bound, and each != rejects one version or one series that
    # the walk then jumps past, so the walk is short.
    lower = _lower_bound(comparators)
    excluded = sum(1 for c in comparators if c.op == "!=")
    cores: list[tuple[int, int, int] | None] = [None]
    cores += sorted({c.version.core for c in comparators if c.version.prerelease})
    for core in cores:
        v = _chain_start(lower, core)
        for _ in range(excluded + 1):
            if v is None:
                break
            if _set_matches(comparators, v):
                return True
            if not all(c.matches(v) for c in comparators if c.op in ("<", "<=", "=")):
                break
            v = _next_candidate(comparators, v)
    return False


# A token, after the whitespace before it.
_TOKEN_RE = re.compile(r"(\s*)(\|\||,|>=|<=|==|!=|[<>=^~]|[^\s,|<>=!^~]+)")
_SEPARATORS = {",", "||"}
# Operators of other tools (Ruby's ~>, Masterminds' => and =<) and kube's spelling of them.
_OTHER_TOOLS = {"~>": "~", "=>": ">=", "=<": "<="}


def _fail(text: str, reason: str = "") -> VersionError:
    return VersionError(f"{RANGE_EXAMPLE}, got {quote(text)}" + (f" ({reason})" if reason else ""))


def _tokenize(text: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    stripped = text.rstrip()
    while pos < len(stripped):
        match = _TOKEN_RE.match(stripped, pos)
        if match is None:
            raise _fail(text)
        tok, spaced = match.group(2), bool(match.group(1))
        prev = tokens[-1] if tokens else ","
        if tok in _OPERATORS and not spaced and prev not in _SEPARATORS and prev not in _OPERATORS:
            # As in npm and Masterminds: "1.2.3^1.0" is not two terms.
            raise _fail(text, f"put a space or a comma before {tok}")
        tokens.append(tok)
        pos = match.end()
    return tokens


def _parts(word: str, text: str) -> tuple[list[int | None], Version | None]:
    """Split ``1.2.x`` into [1, 2, None]; a full SemVer version is returned as a Version."""
    if _SEMVER_RE.fullmatch(word):
        v = Version.parse(word)
        return [v.major, v.minor, v.patch], v
    pieces = word.split(".")
    nums: list[int | None] = []
    for piece in pieces:
        if piece in _WILD and len(pieces) <= 3:
            nums.append(None)
        elif re.fullmatch(_NUM, piece) and len(pieces) <= 3 and (not nums or nums[-1] is not None):
            nums.append(int(piece))
        else:
            reason = _version_problem(word)
            if not reason and word != text.strip():
                reason = f"{quote(word)} is not a version"
            raise _fail(text, reason)
    return nums, None


def _release(given: list[int]) -> Version:
    """A release from one to three leading parts, padded with zeros."""
    padded = given + [0] * (3 - len(given))
    return Version(padded[0], padded[1], padded[2])


def _bump(given: list[int], index: int) -> Version:
    """The release where ``given[index]`` goes up by one and everything after it is zero."""
    return _release([*given[:index], given[index] + 1])


def _series_end(given: list[int], index: int) -> Version:
    """The least version above a whole series, e.g. 1.11.0-0 for 1.10.x: no 1.11.0 pre-release
    is below it, so a series bound never lets one in beside a comparator that names one."""
    return Version(*_bump(given, index).core, (0,))


class _Word:
    """A version word of a term: full (``1.2.3-rc.1``) or partial (``1.2``, ``1.x``, ``*``)."""

    def __init__(self, word: str, text: str) -> None:
        nums, self.full = _parts(word, text)
        self.given = [n for n in nums if n is not None]
        self.low = self.full if self.full is not None else _release(self.given)

    @property
    def end(self) -> Version:
        """The least version above the series a partial word names."""
        return _series_end(self.given, len(self.given) - 1)


def _expand(op: str, word: str, text: str) -> list[Comparator]:
    """One term of an AND-set (``^1.2``, ``>=1.x``, ``1.2.3`` ...) as plain comparators."""
    w = _Word(word, text)
    if op in ("^", "~"):
        if not w.given:
            return []  # ^* and ~* are any version
        if op == "~":
            index = 0 if len(w.given) == 1 else 1
        else:
            nonzero = [i for i, n in enumerate(w.given) if n != 0]
            index = nonzero[0] if nonzero else len(w.given) - 1
        return [Comparator(">=", w.low), Comparator("<", _series_end(w.given, index))]
    if op == "==":
        op = "="
    if w.full is not None:
        return [Comparator(op, w.full)]
    # A partial version stands for the whole series it names (npm's and Masterminds' meaning).
    if not w.given:
        if op in ("=", ">=", "<="):
            return []  # every version is in, at or below the series "*"
        raise _fail(text, f"nothing to compare with in {op}{word}")
    if op == "=":
        return [Comparator(">=", w.low), Comparator("<", w.end)]
    if op == "!=":
        return [Comparator("!=", w.low, until=w.end)]
    if op == ">":
        return [Comparator(">=", _bump(w.given, len(w.given) - 1))]
    if op == "<=":
        return [Comparator("<", w.end)]
    return [Comparator(op, w.low)]  # >= and <: the series' first release


def _expand_hyphen(low: str, high: str, text: str) -> list[Comparator]:
    """``A - B``: from the start of series A up to the end of series B, both included."""
    lo, hi = _Word(low, text), _Word(high, text)
    comparators = [Comparator(">=", lo.low)] if lo.given else []
    if hi.full is not None:
        comparators.append(Comparator("<=", hi.full))
    elif hi.given:
        comparators.append(Comparator("<", hi.end))
    return comparators


# (operator, None for a bare version, or "-" for a hyphen range; word; the hyphen's upper word)
Term = tuple[str | None, str, str]


def _missing_version(op: str, following: str | None, text: str) -> VersionError:
    spelled = op + (following or "")
    if spelled in _OTHER_TOOLS:
        return _fail(text, f"write {_OTHER_TOOLS[spelled]} for {spelled}")
    return _fail(text, f"a version must follow {op}")


def _is_word(token: str | None) -> TypeGuard[str]:
    return token is not None and token not in _OPERATORS | _SEPARATORS | {"-"}


def _parse_set(tokens: list[str], text: str) -> AndSet:
    terms: list[Term] = []
    comma = False  # a comma since the last term
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        following = tokens[i + 1] if i + 1 < len(tokens) else None
        if tok == ",":
            if not terms or comma:
                raise _fail(text, "misplaced comma")
            comma = True
            i += 1
            continue
        if tok == "-":
            # A hyphen range "1.2 - 2.3": the bare version before it is its lower end.
            if comma or not terms or terms[-1][0] is not None or not _is_word(following):
                raise _fail(text, "a hyphen range needs a version on each side, like 1.2 - 2.3")
            terms[-1] = ("-", terms[-1][1], following)
            i += 2
            continue
        op: str | None = None
        if tok in _OPERATORS:
            if not _is_word(following):
                raise _missing_version(tok, following, text)
            op, tok = tok, following
            i += 1
        elif not _WORD_RE.fullmatch(tok):
            raise _fail(text)
        prev = terms[-1] if terms and not comma else (None, "*", "")
        if op in _FLIP and tok in ("x", "X") and prev[0] is None and prev[1] not in _WILD:
            # The interval form: "1.9 < x" means "x > 1.9".
            terms[-1] = (_FLIP[op], prev[1], "")
        else:
            terms.append((op, tok, ""))
        comma = False
        i += 1
    if comma:
        raise _fail(text, "misplaced comma")
    comparators: list[Comparator] = []
    for term_op, word, high in terms:
        if term_op == "-":
            comparators += _expand_hyphen(word, high, text)
        else:
            comparators += _expand(term_op or "=", word, text)
    return tuple(comparators)


@dataclass(frozen=True, repr=False)
class VersionRange:
    """A parsed range: alternatives (``||``) of AND-sets of comparators. ``str()`` is the source text."""

    text: str
    sets: tuple[AndSet, ...] = field(compare=False)

    @classmethod
    def parse(cls, text: str) -> VersionRange:
        if not isinstance(text, str):
            raise VersionError(f"{RANGE_EXAMPLE}, got {type(text).__name__} {text!r}")
        if len(text) > MAX_TEXT:
            raise _fail(text, "too long")
        tokens = _tokenize(text)
        alternatives: list[list[str]] = [[]]
        for tok in tokens:
            if tok == "||":
                alternatives.append([])
            else:
                alternatives[-1].append(tok)
        if len(alternatives) > 1 and not all(alternatives):
            raise _fail(text, "empty side of ||")
        return cls(text, tuple(_parse_set(alt, text) for alt in alternatives))

    @classmethod
    def any(cls) -> VersionRange:
        return cls("*", ((),))

    def contains(self, v: Version) -> bool:
        return any(_set_matches(s, v) for s in self.sets)

    def __contains__(self, v: object) -> bool:
        return isinstance(v, Version) and self.contains(v)

    def is_satisfiable(self) -> bool:
        return any(_set_satisfiable(s) for s in self.sets)

    def highest(self, versions: Iterable[Version]) -> Version | None:
        """The greatest of ``versions`` inside the range, if any."""
        return max((v for v in versions if self.contains(v)), default=None)

    @property
    def canonical(self) -> str:
        """The comparator form, e.g. ``>=1.2.3, <2.0.0 || =3.0.0``; ``*`` for any."""
        return " || ".join(", ".join(str(c) for c in s) or "*" for s in self.sets)

    def __repr__(self) -> str:
        return f"VersionRange({self.text!r})"

    def __str__(self) -> str:
        return self.text
