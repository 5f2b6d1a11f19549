"""Entropy estimates of secret values, for the ``minEntropyBits`` rule.

A value's true entropy depends on how it was generated, which we cannot see, so the estimate is
deliberately conservative: the smaller of length * log2(size of the character classes used) and
length * the Shannon entropy of its character distribution. ``aaaaaaaa`` scores 0; a 20-character
random password over 94 symbols scores about 84. Binary keys are trusted to be random
(8 bits per byte), unless they repeat a single byte.
"""

from __future__ import annotations

import math
import string
from collections import Counter

_CLASSES = (
    (frozenset(string.ascii_lowercase), 26),
    (frozenset(string.ascii_uppercase), 26),
    (frozenset(string.digits), 10),
    (frozenset(string.punctuation + " "), 33),
)
_OTHER_CHARACTERS_POOL = 100


def shannon_bits_per_symbol(symbols: str | bytes) -> float:
    if not symbols:
        return 0.0
    counts = Counter(symbols)
    total = len(symbols)
    return -sum(count / total * math.log2(count / total) for count in counts.values())


def pool_size(text: str) -> int:
    present = set(text)
    size = sum(pool for members, pool in _CLASSES if present & members)
    if any(not any(char in members for members, _ in _CLASSES) for char in present):
        size += _OTHER_CHARACTERS_POOL
    return size


def text_entropy_bits(text: str) -> float:
    if not text:
        return 0.0
    pool_estimate = len(text) * math.log2(pool_size(text))
    shannon_estimate = len(text) * shannon_bits_per_symbol(text)
    return min(pool_estimate, shannon_estimate)


def binary_entropy_bits(data: bytes) -> float:
    if len(set(data)) <= 1:
        return 0.0
    return 8.0 * len(data)
