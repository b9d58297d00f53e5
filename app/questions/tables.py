"""The tables the question parser reads: which words ask which kind, name which modality, relate to which event.

Each entry is a pattern a person writes and what it means; every entry has a paraphrase
test. Patterns run on the question with its quotations masked (nothing quoted can trigger
them) and its time expressions taken out (so "after the 20 minute mark" is not an event).
"""

from __future__ import annotations

import re

from app.scoring import QUESTION_FRAME

# --- the kinds --------------------------------------------------------------------------------

KINDS = (
    "count",  # how many times
    "duration",  # how long
    "when",  # when, at what time
    "order",  # which first / last / n-th, over options or over occurrences
    "exists",  # is X ever mentioned, does anyone say X
    "yes_no",  # any other yes/no question
    "right_after",  # what right after X
    "right_before",  # what right before X
    "after",  # what after X
    "before",  # what before X
    "during",  # what while / during / as X
    "at_time",  # what at 12:30, in the first ten minutes
    "said",  # what is said (no options)
    "shown",  # what is shown / written (no options)
    "choice",  # a plain multiple-choice question
    "open",  # a plain look-up, and anything the tables do not recognise
)
RELATIONS = ("right_after", "right_before", "after", "before", "during")

# Where a question starts once a leading clause is set aside ("In the video, when is ...").
_LEAD = r"(?:^|[,:;]\s*)(?:(?:so|and|but|now|then|please|ok|okay)\b[\s,]*)?"
_VIDEO = r"(?:video|clip|film|movie|recording|footage)"

_SEPARATE = r"(?:(?:separate|different|distinct)\s+)?"
# Kinds recognised by their words alone, in precedence order (the first kind whose pattern matches wins).
KIND_CUES: tuple[tuple[str, str], ...] = (
    ("count", rf"\bhow\s+many\s+{_SEPARATE}times\b"),
    ("count", r"\bhow\s+often\b"),
    ("count", r"\bhow\s+frequently\b"),
    ("count", r"\b(?:the\s+)?number\s+of\s+(?:times|occasions|occurrences|appearances|mentions)\b"),
    ("count", rf"\b(?:on|in|at)\s+how\s+many\s+{_SEPARATE}(?:occasions|instances|moments|times|points)\b"),
    ("count", rf"\bhow\s+many\s+{_SEPARATE}(?:occasions|occurrences|appearances|showings|mentions)\b"),
    ("count", rf"\bhow\s+many\s+{_SEPARATE}(?:notices|signs|captions|announcements|messages)\b"),
    ("count", r"\bcount\s+(?:the\s+)?(?:times|occurrences|appearances|mentions)\b"),
    ("count", r"\bmost\s+(?:often|frequently)\b|\bthe\s+most\s+times\b"),  # which option is counted most
    ("duration", r"\bhow\s+long\b"),
    ("duration", r"\bfor\s+how\s+much\s+time\b"),
    ("duration", r"\bhow\s+much\s+time\b"),
    ("duration", r"\bwhat\s+is\s+the\s+(?:duration|length\s+of\s+time)\b"),
    ("duration", r"\bfor\s+what\s+(?:duration|length\s+of\s+time|period(?:\s+of\s+time)?)\b"),
    ("duration", r"\bhow\s+many\s+(?:seconds|minutes|hours)\b(?!\s+(?:in|into)\b)"),
    ("duration", r"\bfor\s+how\s+many\s+(?:seconds|minutes|hours)\b"),
    ("when", rf"{_LEAD}when\b(?![^,?]*,\s*(?:what|which|who|how|is|are|does|do|did)\b)"),
    ("when", rf"{_LEAD}at\s+(?:what|which)\s+(?:time|point|moment|minute|second|timestamp|stage|instant)\b"),
    ("when", rf"{_LEAD}(?:what|which)\s+time\b"),
    ("when", rf"{_LEAD}(?:in\s+)?(?:what|which)\s+(?:minute|part\s+of\s+the\s+{_VIDEO})\b"),
    ("when", r"\b(?:what|which)\s+(?:is\s+the\s+)?timestamps?\b"),
    ("when", rf"{_LEAD}where\s+in\s+the\s+{_VIDEO}\b"),
    ("when", rf"{_LEAD}how\s+far\s+into\s+the\s+{_VIDEO}\b"),
    ("when", rf"{_LEAD}how\s+many\s+(?:seconds|minutes|hours)\s+(?:in|into)\b"),
    (
        "when",
        rf"{_LEAD}(?:tell\s+me|find|show\s+me|locate|identify|give(?:\s+me)?|point\s+(?:me\s+)?to|say)\b[^?]*?"
        r"\b(?:when|the\s+(?:time|moment|point|timestamp|instant))\b",
    ),
)

# --- order: first, last, n-th ------------------------------------------------------------------------

ORDER_FRAME = r"\b(?:which|what|who)\b"
# An ordinal picks one occurrence: 1 the first, -1 the last, 2 the second, -2 the second to last.
ORDINALS: tuple[tuple[int, str], ...] = (
    (-2, r"\b(?:second[\s-]+(?:to[\s-]+)?last|next[\s-]+to[\s-]+last|penultimate)\b"),
    (1, r"\b(?:first|earliest|initially|at\s+first|earlier|sooner|before\s+the\s+others?)\b"),
    (-1, r"\b(?:last|final|finally|latest|most\s+recent|later|after\s+the\s+others?)\b"),
    (2, r"\bthe\s+second\b|\b2nd\b|\bsecond(?=\W*$)"),  # not "a second", "30 second"
    (3, r"\b(?:third|3rd)\b"),
    (4, r"\b(?:fourth|4th)\b"),
    (5, r"\b(?:fifth|5th)\b"),
)
# An ordinal right after "about the" or "for the" names the topic ("what is said about the last train?", "which
# platform for the last train?"), not which occurrence is asked; "for the last time" still asks for one (TOPIC_NOT).
TOPIC_LEAD = r"\b(?:about|regarding|concerning|for)\s+(?:the|a|an|this|that)\s+$"
TOPIC_NOT = r"\s+(?:time|occasion)s?\b"
SEQUENCE = (
    r"\b(?:in\s+(?:what|which)\s+order|what\s+order|the\s+order\s+(?:in\s+which|of)|(?:chronological|time)\s+order|sequence)\b"
)
# Between two candidates, "before"/"after" with no event after them asks for order: "which is said before?"
BARE_ORDER = (
    (1, r"\b(?:before|precedes?|preceding|comes?\s+before)\b(?=\s*(?:the\s+others?|it|that|\W*$))"),
    (-1, r"\b(?:after|follows?|comes?\s+after)\b(?=\s*(?:the\s+others?|it|that|\W*$))"),
)

# A relation made closer by the asked clause: "the next thing said after X" is right after it.
CLOSER = {"after": ("right_after", r"\bnext\b"), "before": ("right_before", r"\b(?:previous|preceding)\b")}

# --- yes/no and existence --------------------------------------------------------------------------

POLAR = (
    rf"{_LEAD}(?:is|are|was|were|does|do|did|has|have|had|can|could|will|would|should|may|might|must"
    r"|isn't|aren't|wasn't|weren't|doesn't|don't|didn't|hasn't|haven't)\b"
)
# In a yes/no question, these make it a question of whether something occurs at all.
EXISTENCE = (
    r"\b(?:ever|anyone|anybody|someone|somebody|anything|something|at\s+all|anywhere|any\s+mention|any\s+reference"
    r"|mention(?:s|ed|ing)?|say|says|said|spoken|speak|speaks|heard|hear|shown|show|shows|displayed|display|displays"
    r"|appear(?:s|ed|ing)?|seen|see|written|named|refer(?:s|red)?\s+to|discuss(?:es|ed)?|talk(?:s|ed)?\s+about"
    r"|comes?\s+up|came\s+up|visible|on[\s-]?screen|there\s+(?:a|an|any|some)|present|read\s+out|announced|narrated)\b"
)
CONTENT_FRAME = rf"{_LEAD}(?:what|which)\b"

# --- relations to another event ----------------------------------------------------------------------

# (relation, cue, strict): the earliest cue wins (the longest at one place); a strict cue needs a
# quotation or a modality word after it ("as 'X' is said"), since the word has other uses ("such as").
RELATION_CUES: tuple[tuple[str, str, bool], ...] = (
    ("right_after", r"\b(?:immediately|right|just|directly|straight|shortly|soon|promptly)\s+(?:after|following)\b", False),
    ("right_after", r"\b(?:the\s+)?(?:next\s+(?:thing\s+|one\s+)?|moment\s+|instant\s+)after\b", False),
    ("right_after", r"\bas\s+soon\s+as\b", False),
    ("right_after", r"(?<!\bthe\s)(?<!\bof\s)\bfollowing\b(?!\s*(?::|\?|$|options?|choices?|answers?|ones?|is\b|are\b))", False),
    ("right_before", r"\b(?:immediately|right|just|directly|shortly)\s+(?:before|prior\s+to|preceding)\b", False),
    ("right_before", r"\b(?:the\s+)?(?:last\s+(?:thing\s+|one\s+)?|moment\s+|instant\s+)before\b", False),
    ("after", r"\b(?:after|later\s+than|subsequent\s+to)\b", False),
    ("after", r"^\W*once\b", False),
    ("before", r"\b(?:before|prior\s+to|earlier\s+than|ahead\s+of|preceding)\b", False),
    (
        "during",
        r"\b(?:at\s+the\s+(?:same\s+)?(?:moment|time|instant|point)\s+(?:when|that|as)|at\s+the\s+same\s+time\s+as"
        r"|simultaneously\s+with|in\s+the\s+course\s+of)\b",
        False,
    ),
    ("during", r"\b(?:while|whilst|during|whenever|throughout)\b", False),
    ("during", r"(?<=\w)\W+when\b|^\W*when\b(?=[^,?]*,)", False),
    ("during", r"(?<!\bsuch\s)(?<!\bsame\s)(?<!\bwell\s)\bas\b(?!\s+(?:well|long|much|many|far|if|though|to|such|a|an)\b)", True),
)

# --- modality ------------------------------------------------------------------------------------------

# Strong words name a modality outright; weak ones only when nothing strong does ("what does the sign say?").
SPEECH_STRONG = (
    r"\b(?:said|heard|hear|hears|spoken|speak|speaks|speaking|speaker|narrat\w*|announc\w*|voice\w*|aloud|out\s+loud"
    r"|talk|talks|talked|talking|utter\w*|speech|pronounc\w*)\b"
)
SPEECH_WEAK = r"\b(?:say|says|saying|tell|tells|told)\b"
TEXT_STRONG = (
    r"\b(?:shown|show(?!\s+me\b)|shows|showing|written|writes|writing|displayed|display|displays|on[\s-]?screen|screens?"
    r"|notices?|signs?|signage|captions?|banners?|labels?|titles?|text|printed)\b"
)
TEXT_WEAK = r"\b(?:read|reads|reading)\b"

# --- the frame of a question: words that ask, not words that name what is asked about ---------------------

FRAME_WORDS = QUESTION_FRAME | frozenset(
    """
    whats why whose whom being gets am can could would should will shall may might must has have had isn't aren't wasn't
    weren't doesn't don't didn't hasn't haven't there here any some anything something everything nothing thing things
    ever at all anywhere anyone anybody someone somebody everyone person people narrator announcer speaker presenter
    voice voices he she they them their his her we us our you your i me my its please tell find show give locate
    identify point know let times often many much long number count duration length occasions occurrence occurrences
    instances appearance appearances mention mentions mentioning name named refer refers referred talk talks talked
    talking about discuss discusses discussed stay stays stayed remain remains remained visible present last lasts
    lasted appear appearing appeared show shows showing display displays writes writing hear hears heard speak speaks
    speaking spoken say says saying tell tells told announce announces announced announcement announcements narrate
    narrates narrated narration speech aloud loud read reads reading text texts caption captions sign signs signage
    banner banners label labels title titles printed notice notices message messages screen onscreen clip film movie
    recording footage part mark point second seconds minute minutes hour hours then next right just immediately directly
    straight shortly soon while whilst during whenever throughout same following follows precede precedes preceding
    earliest latest final finally initially order sequence second third fourth fifth there's what's it's happening
    happen happens happened going on yes no true exactly approximately roughly about around near later earlier other
    others previous but yet also too only even up
    """.split()  # noqa: SIM905 (a word list reads best as words)
)
POSSESSIVE = re.compile(r"['’]s$", re.I)
