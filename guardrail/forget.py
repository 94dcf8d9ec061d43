"""A user asking a bot to forget, or never to mention again, something they confided.

"forget what I told you", "please don't bring that up again", "never mention my therapy
again", "oublie ce que je t'ai dit", "n'en parle plus", "ne me reparle plus de ma dette".
Matched on :func:`classifiers.normalize.fold`'s text (lower case, no accents, obfuscation
undone), one clause at a time; a request that is negated or reported does not count:
"don't forget what I told you", "n'oublie pas ce que je t'ai dit", "I forgot what I told
you", "my sister told me to forget it". A bare "forget it" / "oublie" is dismissal ("never
mind"), not a request about memory, and does not count either.

Which categories a request covers is the caller's business (:mod:`guardrail.service.ingest`):
those the same message names, else those the user disclosed to this bot, else all.
"""

from __future__ import annotations

import re
from typing import Final

from classifiers.normalize import fold

_THAT: Final = (
    r"(?:that|it|this|those things|these things|all that|all of that"
    r"|about (?:that|it|this|my \w+(?: \w+)?))"
)
_EN: Final = (
    r"forget (?:about )?(?:what|everything|all|anything|whatever|the things?) (?:i|that i) "
    r"(?:told|said|shared|wrote|mentioned|confided|say)",
    r"forget (?:what i said |everything )?about (?:my|that|it|this|what i)",
    r"forget (?:i (?:told|said|mentioned)|that i (?:told|said|mentioned))",
    r"(?:don'?t|do not|never|please don'?t) (?:ever )?(?:mention|bring up|talk about"
    rf"|ask (?:me )?about|remind me (?:of|about)|bring) {_THAT}(?: up)?"
    r"(?: again| anymore| ever again)",
    r"(?:never|don'?t|do not) (?:ever )?(?:mention|bring up|ask (?:me )?about"
    r"|talk (?:to me )?about) (?:my|the|that|it)\b.{0,40}? (?:again|anymore)",
    r"stop (?:asking|talking|texting|messaging) (?:me )?about (?:that|it|this|my)",
    r"(?:delete|erase|wipe) (?:what|everything|all) i (?:told|said|shared|wrote)",
    r"pretend i never (?:told you|said|mentioned)",
    r"i (?:don'?t|do not) want to (?:talk|hear) about (?:that|it|this|my \w+)"
    r" (?:again|anymore|ever again)",
    r"(?:can|could|would) you (?:please )?(?:forget|not mention|stop mentioning)"
    r" (?:that|it|this|what i|about|my)",
)
_FR: Final = (
    r"oublie[sz]? (?:ce que|tout ce que|les choses que|ce dont) (?:je t'ai|je vous ai|j'ai) "
    r"(?:dit|raconte|confie|ecrit|parle)",
    r"oublie[sz]? (?:ce que je t'ai dit |tout )?(?:a propos de|au sujet de|pour) (?:ma|mon|mes|ca)",
    r"oublie[sz]? (?:tout )?ca,? (?:je (?:ne )?veux plus|n'en parle)",
    r"(?:ne )?m'en (?:parle|reparle)[sz]? plus",
    r"n'en (?:parle|reparle)[sz]? plus",
    r"n'en parlons plus",
    r"(?:ne )?(?:me )?(?:parle|reparle)[sz]? plus (?:jamais )?(?:de|du|des)"
    r" (?:ca|cela|ma|mon|mes|ce|cette)",
    r"(?:ne )?(?:me )?(?:redemande|demande)[sz]? plus (?:jamais )?(?:rien )?"
    r"(?:a propos|de nouvelles|sur|pour|comment)",
    r"(?:ne )?(?:mentionne|evoque)[sz]? plus (?:jamais )?(?:ca|cela|ma|mon|mes|le|la|les)",
    r"arrete[sz]? de (?:me )?(?:parler|demander|poser des questions)"
    r" (?:de|du|des|sur|a propos) (?:ca|ma|mon|mes)",
    r"efface[sz]? (?:ce que|tout ce que) (?:je t'ai|j'ai) (?:dit|raconte|ecrit)",
    r"fais comme si je (?:ne )?t'avais rien dit",
    r"je (?:ne )?veux plus (?:jamais )?en (?:parler|entendre parler)",
)
_REQUEST: Final = re.compile("|".join(f"(?:{p})" for p in _EN + _FR))
_NOT_A_REQUEST: Final = re.compile(
    r"(?:don'?t|do not|never|please don'?t) forget|n'oublie[sz]? (?:pas|jamais)|"
    r"\bi (?:forgot|forget)\b|j'ai oublie|(?:told|asked) (?:me|him|her|them) to forget|"
    r"m'a dit d'oublier|(?:he|she|they) (?:said|says|told me) (?:to )?(?:forget|never mention)"
)
_APOSTROPHES: Final = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})
_CLAUSES: Final = re.compile(r"[.!?;\n]+|,\s*(?:but|mais)\b")


def asks_to_forget(text: str) -> bool:
    """Whether ``text`` asks the bot to forget or never mention something the user said."""
    folded = fold(text).translate(_APOSTROPHES)
    for clause in _CLAUSES.split(folded):
        if _NOT_A_REQUEST.search(clause):
            continue
        if _REQUEST.search(clause):
            return True
    return False
