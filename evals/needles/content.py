"""What the needle videos say and show: announcements, notices and codes, each with one word that varies.

Every fact has a slot (a platform, a day, a gate) drawn per video from its `values`; the
values not drawn are its near misses, so a distractor differs from the truth by that one
word, and a system has to have heard or read the needle to choose. The pools come in two
splits with nothing in common: `main` builds the sets the policy is developed on, `heldout`
the set it is checked on once. A video uses some facts of its split; the unused ones are
the things it never mentions (for "not mentioned" and existence questions).

Announcements are synthesised with espeak-ng. Their `quote` is the words a question quotes
and `decoy` a one-word change of it that is never said; both were chosen so that
faster-whisper tiny.en (the default speech model) hears the quote word for word once case
and punctuation are dropped (British spellings such as "harbour" are avoided: it writes
"harbor").
"""

from __future__ import annotations

import random
from dataclasses import dataclass

CODE_LETTERS = "ACDEFHKMNPRTWXY"  # no B/8, O/Q/0, I/L/1, S/5, Z/2, G, U/V: characters OCR and people confuse
CODE_DIGITS = "34679"


@dataclass(frozen=True)
class Fact:
    """A sentence or notice with one varying word (`{}` in the template), and how questions refer to it."""

    template: str
    values: tuple[str, ...]
    question: str  # asks for the slot: "Which platform does the shuttle to the airport leave from?"
    topic: str = ""  # speech: how a question names it ("the shuttle to the airport")
    claim: str = ""  # speech: a multiple-choice statement of it ("It leaves from platform {}")
    quote: str = ""  # speech: words a question quotes
    decoy: str = ""  # speech: the quote with one word changed, never said

    def text(self, value: str) -> str:
        return self.template.format(value)


@dataclass(frozen=True)
class Pool:
    """One split's announcements, notices and code labels."""

    announcements: tuple[Fact, ...]
    notices: tuple[Fact, ...]
    code_labels: tuple[str, ...]


MAIN = Pool(
    announcements=(
        Fact(
            "The shuttle to the airport now leaves from platform {}.",
            ("nine", "five", "two", "seven"),
            "Which platform does the shuttle to the airport leave from?",
            "the shuttle to the airport",
            "It leaves from platform {}",
            "the shuttle to the airport",
            "the shuttle to the station",
        ),
        Fact(
            "Tomorrow's meeting about the library roof has moved to {} morning.",
            ("Thursday", "Tuesday", "Friday", "Monday"),
            "Which morning has the meeting about the library roof moved to?",
            "the meeting about the library roof",
            "It has moved to {} morning",
            "meeting about the library roof",
            "meeting about the library door",
        ),
        Fact(
            "Please collect your parcels from the {} counter near the west entrance.",
            ("blue", "green", "red", "yellow"),
            "Which counter should parcels be collected from?",
            "collecting parcels",
            "From the {} counter",
            "collect your parcels",
            "collect your tickets",
        ),
        Fact(
            "The swimming pool is closed for cleaning until {} afternoon.",
            ("Monday", "Wednesday", "Saturday", "Friday"),
            "Until which afternoon is the swimming pool closed?",
            "the swimming pool",
            "It is closed until {} afternoon",
            "the swimming pool is closed for cleaning",
            "the swimming pool is open for cleaning",
        ),
        Fact(
            "The concert in the park has been cancelled because of the {}.",
            ("storm", "heat", "wind", "rain"),
            "Why has the concert in the park been cancelled?",
            "the concert in the park",
            "It was cancelled because of the {}",
            "the concert in the park has been cancelled",
            "the concert in the hall has been cancelled",
        ),
        Fact(
            "All staff should meet in the main hall at {} o'clock.",
            ("four", "two", "six", "three"),
            "At what time should all staff meet in the main hall?",
            "the staff meeting in the main hall",
            "At {} o'clock",
            "staff should meet in the main hall",
            "staff should meet in the dining hall",
        ),
        Fact(
            "The school choir will sing at the town hall on {} evening.",
            ("Friday", "Tuesday", "Sunday", "Thursday"),
            "On which evening will the school choir sing at the town hall?",
            "the school choir",
            "It sings on {} evening",
            "the school choir will sing at the town hall",
            "the school band will sing at the town hall",
        ),
        Fact(
            "The fire alarm test will take place at noon on {}.",
            ("Wednesday", "Monday", "Thursday", "Saturday"),
            "On which day is the fire alarm test?",
            "the fire alarm test",
            "It takes place on {}",
            "the fire alarm test will take place at noon",
            "the fire alarm test will take place at night",
        ),
        Fact(
            "The prize winners will be announced in room {}.",
            ("eleven", "twelve", "six", "three"),
            "In which room will the prize winners be announced?",
            "the prize winners",
            "In room {}",
            "the prize winners will be announced",
            "the prize winners will be invited",
        ),
        Fact(
            "The book club meets every {} in the old library.",
            ("Tuesday", "Thursday", "Monday", "Friday"),
            "On which day does the book club meet?",
            "the book club",
            "Every {}",
            "the book club meets every",
            "the chess club meets every",
        ),
    ),
    notices=(
        Fact("GATE {} CLOSED", ("B7", "B4", "D7", "B3"), "Which gate is closed?"),
        Fact("PLATFORM {} DELAYED", ("4", "6", "9", "3"), "Which platform is delayed?"),
        Fact("LIFT {} OUT OF ORDER", ("2", "3", "5", "6"), "Which lift is out of order?"),
        Fact("EXIT VIA DOOR {}", ("3", "9", "4", "7"), "Which door is the exit?"),
        Fact("VISITORS REPORT TO DESK {}", ("12", "14", "21", "16"), "Which desk should visitors report to?"),
        Fact("CAFE OPENS AT {} AM", ("8", "7", "9", "6"), "What time does the cafe open?"),
        Fact("BUS {} DIVERTED", ("42", "24", "47", "72"), "Which bus is diverted?"),
        Fact("PARKING LEVEL {} FULL", ("2", "3", "4", "5"), "Which parking level is full?"),
        Fact("WET FLOOR IN HALL {}", ("C", "D", "E", "A"), "Which hall has a wet floor?"),
    ),
    code_labels=("SERVER ROOM", "STORE ROOM", "STAFF LOCKER", "LOADING DOCK", "BIKE SHED", "FIRST AID KIT"),
)

HELDOUT = Pool(
    announcements=(
        Fact(
            "The cafe on the top floor is open until {} o'clock.",
            ("three", "four", "one", "five"),
            "Until what time is the cafe on the top floor open?",
            "the cafe on the top floor",
            "Until {} o'clock",
            "the cafe on the top floor",
            "the cafe on the ground floor",
        ),
        Fact(
            "Passengers for the last train should wait on platform {}.",
            ("eight", "four", "six", "three"),
            "On which platform should passengers for the last train wait?",
            "the last train",
            "On platform {}",
            "passengers for the last train",
            "passengers for the first train",
        ),
        Fact(
            "The football match has been moved to {} afternoon.",
            ("Sunday", "Saturday", "Friday", "Monday"),
            "Which afternoon has the football match been moved to?",
            "the football match",
            "To {} afternoon",
            "match has been moved to",
            "match has been moved from",
        ),
        Fact(
            "Lunch will be served in the {} garden today.",
            ("rose", "north", "main", "old"),
            "In which garden will lunch be served today?",
            "lunch today",
            "In the {} garden",
            "lunch will be served in the",
            "dinner will be served in the",
        ),
        Fact(
            "The library will stay open until {} tonight.",
            ("eight", "ten", "seven", "six"),
            "Until what time will the library stay open tonight?",
            "the library tonight",
            "Until {} tonight",
            "the library will stay open until",
            "the library will stay closed until",
        ),
        Fact(
            "A green jacket was left at the {} desk.",
            ("front", "back", "main", "side"),
            "At which desk was the green jacket left?",
            "the green jacket",
            "At the {} desk",
            "a green jacket was left",
            "a green bag was left",
        ),
        Fact(
            "The guided walk leaves from the church at {} o'clock.",
            ("ten", "eleven", "two", "four"),
            "At what time does the guided walk leave from the church?",
            "the guided walk",
            "At {} o'clock",
            "the guided walk leaves from the church",
            "the guided walk leaves from the school",
        ),
        Fact(
            "The art class will now meet in room {}.",
            ("eleven", "twelve", "six", "three"),
            "In which room will the art class now meet?",
            "the art class",
            "In room {}",
            "the art class will now meet",
            "the music class will now meet",
        ),
    ),
    notices=(
        Fact("TRAM {} CANCELLED", ("9", "6", "4", "3"), "Which tram is cancelled?"),
        Fact("MEETING ROOM {} AT NOON", ("12", "21", "13", "17"), "Which meeting room is booked at noon?"),
        Fact("STAIRS {} CLOSED FOR REPAIRS", ("C", "D", "A", "E"), "Which stairs are closed for repairs?"),
        Fact("LIBRARY CLOSES AT {} PM", ("6", "7", "5", "9"), "What time does the library close?"),
        Fact("TICKETS AT COUNTER {}", ("3", "4", "7", "9"), "Which counter sells tickets?"),
        Fact("DOCK {} RESERVED", ("7", "4", "9", "6"), "Which dock is reserved?"),
        Fact("NO ENTRY TO WING {}", ("D", "C", "E", "A"), "Which wing has no entry?"),
    ),
    code_labels=("GARAGE", "ARCHIVE", "PHOTO LAB", "BOILER ROOM", "MAIL ROOM", "ROOF HATCH"),
)

POOLS = {"main": MAIN, "heldout": HELDOUT}

# The LibriVox readings of the media folder (by clip id): the words a question quotes, then
# one-word changes of them that are never said (the first is the decoy of existence
# questions). tiny.en hears the quotes word for word once case and punctuation are dropped;
# it hears 0870's "mister" as "Mr." and 0880's "ill disposed" as "old-sposed", so those are avoided.
READINGS = {
    "sense_and_sensibility_01_austen_64kb-0870": (
        "leisure to consider how much",
        "pleasure to consider how much",
        "leisure to discover how much",
        "leisure to consider how many",
    ),
    "sense_and_sensibility_01_austen_64kb-0880": ("he was not an", "she was not an", "he was not the", "he was once an"),
    "sense_and_sensibility_01_austen_64kb-0890": (
        "and rather selfish",
        "and rather foolish",
        "and very selfish",
        "but rather selfish",
    ),
}


def make_code(rng: random.Random) -> str:
    """A code like "K7-RM4": letter digit - letter letter digit, from characters OCR keeps apart."""
    pick = rng.choice
    return f"{pick(CODE_LETTERS)}{pick(CODE_DIGITS)}-{pick(CODE_LETTERS)}{pick(CODE_LETTERS)}{pick(CODE_DIGITS)}"


def near_miss_codes(code: str, rng: random.Random, n: int) -> tuple[str, ...]:
    """`n` distinct codes that differ from `code` in exactly one character of the same class."""
    found: set[str] = set()
    while len(found) < n:
        i = rng.choice([i for i, ch in enumerate(code) if ch != "-"])
        alphabet = CODE_DIGITS if code[i].isdigit() else CODE_LETTERS
        found.add(code[:i] + rng.choice(alphabet.replace(code[i], "")) + code[i + 1 :])
    return tuple(sorted(found))
