"""Sentences for the speech synthesiser, drawn from a small seeded grammar.

A grammar rather than a fixed text: any number of distinct, pronounceable sentences, the same ones
for the same seed, and nothing to download or license.
"""

import numpy as np

SUBJECTS = [
    "the old fisherman", "my younger sister", "a tired engineer", "the village baker",
    "our new neighbour", "the quiet student", "a famous painter", "the night nurse",
    "every farmer", "the train driver", "a curious child", "the orchestra",
    "the weather station", "her grandmother", "the school teacher", "a lonely sailor",
    "the city council", "the small robot", "his best friend", "the museum guide",
]
VERBS = [
    "carried", "painted", "repaired", "described", "remembered", "followed", "measured",
    "opened", "borrowed", "discovered", "cleaned", "counted", "delivered", "explained",
    "watched", "collected", "forgot", "answered", "recorded", "balanced",
]
OBJECTS = [
    "a basket of apples", "the broken window", "seven wooden chairs", "the long letter",
    "a map of the harbour", "the silver bicycle", "an empty bottle", "the morning paper",
    "a box of candles", "the heavy suitcase", "two yellow kites", "the garden gate",
    "a bag of flour", "the copper kettle", "the stolen painting", "a pair of boots",
    "the final report", "a cup of strong tea", "the blue umbrella", "the radio signal",
]
PLACES = [
    "across the bridge", "before the storm", "near the railway station", "after dinner",
    "along the river bank", "in the early morning", "under the old oak tree", "during the concert",
    "behind the church", "on a windy afternoon", "at the edge of the forest", "inside the library",
    "through the crowded market", "beside the frozen lake", "at half past nine", "without a word",
]
LINKS = ["and then", "because", "although", "while", "so", "but", "until", "since"]
CLAUSES = [
    "nobody noticed the noise", "the lights went out", "it began to rain",
    "the dog kept barking", "everyone was asleep", "the bell rang twice",
    "the road was closed", "the clock had stopped", "the wind changed direction",
    "the children laughed loudly", "the soup was getting cold", "the ship left the port",
]


def sentence(rng: np.random.Generator) -> str:
    """One sentence: subject, verb, object, a place or time, and sometimes a second clause."""
    words = [rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS), rng.choice(PLACES)]
    if rng.random() < 0.5:
        words += [rng.choice(LINKS), rng.choice(CLAUSES)]
    text = " ".join(words)
    return text[0].upper() + text[1:] + rng.choice([".", ".", ".", "!", "?"])


def paragraph(rng: np.random.Generator, sentences: int) -> str:
    return " ".join(sentence(rng) for _ in range(sentences))
