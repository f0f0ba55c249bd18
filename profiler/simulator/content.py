"""The text of a reply: two book recommendations, cut into a fixed number of tokens.

Clients measure per-token timing, so the number of content pieces must be
exactly what the scenario asks for, whatever the text's natural length.
"""

from __future__ import annotations

import itertools
import random
import re

__all__ = ["BOOKS", "WORDS", "books_json", "split_evenly", "split_into_tokens", "write_replies"]

BOOKS: tuple[tuple[str, str], ...] = (
    ("The Night Circus", "Erin Morgenstern"),
    ("Rebecca", "Daphne du Maurier"),
    ("The Remains of the Day", "Kazuo Ishiguro"),
    ("Piranesi", "Susanna Clarke"),
    ("The Left Hand of Darkness", "Ursula K. Le Guin"),
    ("Beloved", "Toni Morrison"),
    ("The Name of the Rose", "Umberto Eco"),
    ("Middlemarch", "George Eliot"),
    ("A Gentleman in Moscow", "Amor Towles"),
    ("The Secret History", "Donna Tartt"),
    ("Never Let Me Go", "Kazuo Ishiguro"),
    ("Station Eleven", "Emily St. John Mandel"),
    ("The Shadow of the Wind", "Carlos Ruiz Zafón"),
    ("Jane Eyre", "Charlotte Brontë"),
    ("The Master and Margarita", "Mikhail Bulgakov"),
    ("Circe", "Madeline Miller"),
    ("The Book Thief", "Markus Zusak"),
    ("Pachinko", "Min Jin Lee"),
    ("Dune", "Frank Herbert"),
    ("The Overstory", "Richard Powers"),
)

# Appended, in turn, when the scenario wants more tokens than the two titles give.
_CLOSING_REMARKS: tuple[str, ...] = (
    "Both are wonderful reads for a quiet weekend.",
    "The first is atmospheric and full of small wonders.",
    "The second rewards a slow, attentive reading.",
    "Either would make a thoughtful gift.",
    "If you enjoy one, the other is a natural next pick.",
    "Many book clubs have chosen them for good reason.",
    "Happy reading!",
)

# A word with the whitespace before it, the way BPE tokens carry their leading space.
_WORD = re.compile(r"\s*\S+")

_PAIRS = tuple(itertools.permutations(range(len(BOOKS)), 2))

# The vocabulary of generated JSON strings: the words of the titles, so structured
# output reads like the prose replies.
WORDS: tuple[str, ...] = tuple(
    dict.fromkeys(word.strip('".,') for title, _ in BOOKS for word in title.split() if len(word) > 2)
)

# One unit of JSON text that must not be cut: an escape sequence, or any single character.
_JSON_UNIT = re.compile(r"\\u[0-9a-fA-F]{4}|\\.|.", re.DOTALL)


def write_replies(rng: random.Random, n: int, output_tokens: int) -> list[list[str]]:
    """Return `n` replies, each a different pair of books, each split into `output_tokens` pieces."""
    pairs = rng.sample(_PAIRS, min(n, len(_PAIRS)))
    replies = []
    for index in range(n):
        first, second = (BOOKS[i] for i in pairs[index % len(pairs)])
        text = f'1. "{first[0]}" by {first[1]}\n2. "{second[0]}" by {second[1]}'
        replies.append(split_into_tokens(text, output_tokens))
    return replies


def split_into_tokens(text: str, count: int) -> list[str]:
    """Cut `text` into exactly `count` non-empty pieces, adding closing remarks if it is too short."""
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    words = _WORD.findall(text)
    remarks = itertools.cycle(_CLOSING_REMARKS)
    separator = "\n\n"
    while len(words) < count:
        words.extend(_WORD.findall(separator + next(remarks)))
        separator = " "
    # Spread the surplus evenly so no piece is a whole sentence while others are single words.
    size, surplus = divmod(len(words), count)
    pieces = []
    start = 0
    for index in range(count):
        end = start + size + (1 if index < surplus else 0)
        pieces.append("".join(words[start:end]))
        start = end
    return pieces


def books_json(rng: random.Random) -> dict[str, list[dict[str, str]]]:
    """What a `json_object` reply says: the same kind of recommendation, as an object."""
    first, second = (BOOKS[i] for i in rng.choice(_PAIRS))
    return {"recommendations": [{"title": t, "author": a} for t, a in (first, second)]}


def split_evenly(text: str, count: int) -> list[str]:
    """Cut JSON text into exactly `count` non-empty pieces without splitting an escape sequence.

    Text shorter than `count` units is padded with spaces, which JSON allows between
    tokens: right after an opening bracket, or at the end of a scalar document.
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    units = _JSON_UNIT.findall(text)
    if len(units) < count:
        padding = [" "] * (count - len(units))
        units = units[:1] + padding + units[1:] if units[:1] in (["{"], ["["]) else units + padding
    size, surplus = divmod(len(units), count)
    pieces = []
    start = 0
    for index in range(count):
        end = start + size + (1 if index < surplus else 0)
        pieces.append("".join(units[start:end]))
        start = end
    return pieces
