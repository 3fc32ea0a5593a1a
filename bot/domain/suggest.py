"""Did-you-mean for words people type: the closest known word within a small edit distance.

Pure (stdlib only). The distance is Damerau-Levenshtein in its "optimal string alignment" form,
so a swapped pair of letters (``stauts`` for ``status``) costs one edit, as people type it.
"""

from __future__ import annotations

from collections.abc import Iterable


def edit_distance(a: str, b: str) -> int:
    """Insertions, deletions, substitutions and swaps of adjacent letters turning a into b."""
    rows = [list(range(len(b) + 1))]
    for i in range(1, len(a) + 1):
        row = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            row[j] = min(rows[i - 1][j] + 1, row[j - 1] + 1, rows[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                row[j] = min(row[j], rows[i - 2][j - 2] + 1)
        rows.append(row)
    return rows[-1][-1]


def closest(word: str, known: Iterable[str]) -> str | None:
    """The known word nearest to ``word`` (case-insensitive), or None when none is close: one
    edit for words up to 4 letters, two beyond; ties go to the first in alphabetical order."""
    low = word.strip().lower()
    if not low:
        return None
    limit = 1 if len(low) <= 4 else 2
    best: tuple[int, str] | None = None
    for k in sorted(set(known)):
        d = edit_distance(low, k.lower())
        if d <= limit and (best is None or d < best[0]):
            best = (d, k)
    return best[1] if best else None


def did_you_mean(word: str, known: Iterable[str]) -> str:
    """`` Did you mean `x`?`` (with a leading space) or an empty string."""
    guess = closest(word, known)
    return f" Did you mean `{guess}`?" if guess else ""
