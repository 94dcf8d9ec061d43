"""Does a bot's message to an opted-out user ask them to take their STOP back?

After STOP the bot may send one reply, the confirmation. A confirmation that asks "Reply
YES to confirm you want to unsubscribe", "Are you sure? Reply START to stay", or carries
a "Yes" button, sets a trap: the user's answer is the bot's wording, not their own
initiative. :func:`solicitation` finds such prompts, English and French; the ``opt_out``
rule blocks the message or sends the policy's own confirmation instead.

Read on the text as a person sees it (:func:`guardrail.consent_text.prepare`), one line at
a time: platform buttons and quick replies reach the decision as lines of their own (the
proxy lists every text a call carries), so a line after the first that is nothing but an
affirmative or a start word ("Yes", "Oui", "START") is a button offering a re-subscription.
"""

from __future__ import annotations

import re

from guardrail.consent import DEFAULT_START, generic_affirmative, normalise
from guardrail.consent_text import prepare

_ANSWER = r"(yes|y|yeah|ok|okay|sure|start|unstop|subscribe|resubscribe|continue|keep|stay|1|oui|d'accord|demarrer|reprendre|reabonner|continuer|rester)"  # noqa: E501
_QUOTE = r"[\"'“”«» ]*"
_PATTERNS = [
    # "Reply YES to confirm", "text START", "tap Yes", "send us OK"
    rf"\b(reply|respond|text|send|type|write|answer|say|press|tap|click|hit|select|choose|pick)"
    rf"( back| us| me)?( with)?{_QUOTE}{_ANSWER}\b",
    rf"\b(repond(ez|s|re)?|renvoie[sz]?|envoie[sz]?|ecri(s|vez)|tape[sz]?|clique[sz]?|appuie[sz]?"
    rf"|choisi(s|ssez)|selectionne[sz]?|di(s|tes))( nous| moi)?( par| avec| sur)?{_QUOTE}"
    rf"{_ANSWER}\b",
    # what the user would be asked to do
    r"\bto (re-?subscribe|opt (back )?in|start (again|receiving)|stay subscribed|keep "
    r"(getting|receiving|hearing|our|my|the)|continue (getting|receiving|hearing|our|my)|undo "
    r"(this|it|that)|cancel (this|your|the) (request|unsubscribe|opt-out))",
    r"\bpour (vous |te |me )?(re-?abonner|reinscrire|rester abonne|continuer a (recevoir|avoir)"
    r"|recevoir (a nouveau|de nouveau|encore)|annuler (votre|ta|la) (desinscription|demande))",
    # second thoughts
    r"\b(are you sure|do you (really )?want to (unsubscribe|stop|leave|keep|continue|stay)"
    r"|would you (like|prefer) to (keep|continue|stay|resubscribe|re-subscribe)"
    r"|change your mind|reconsider|second thoughts|before you go|we'?ll miss you"
    r"|i'?ll miss you|confirm (that )?you (really )?want to (unsubscribe|stop|opt out|leave))\b",
    r"\b(etes-vous sur|etes vous sur|es-tu sur|es tu sur|tu es sur|vous etes sur"
    r"|voulez-vous (vraiment )?(vous desabonner|arreter|continuer|rester)"
    r"|veux-tu (vraiment )?(te desabonner|arreter|continuer|rester)"
    r"|changez d'avis|changes d'avis|reflechi(ssez|s) bien|tu vas me manquer|vous allez nous "
    r"manquer|confirme[rz]? (que )?(vous voulez|tu veux) (vous|te) desabonner)",
]
_COMPILED = [re.compile(p) for p in _PATTERNS]
_BUTTON = re.compile(
    r"^(keep|continue|stay|resume|restart|resubscribe|re-subscribe|undo|opt (back )?in|garder"
    r"|continuer|rester|reprendre|reactiver|me reabonner|re-?abonner|annuler)\b"
)
"""A button offering to undo the STOP ("Keep my messages", "Continuer", "Annuler")."""
_START_WORDS = {normalise(w) for w in DEFAULT_START}


def solicitation(text: str) -> str | None:
    """The words of ``text`` that ask an opted-out user to re-subscribe, or None."""
    lines = [line for line in prepare(text).splitlines() if normalise(line)]
    for n, line in enumerate(lines):
        folded = normalise(line)
        for pattern in _COMPILED:
            found = pattern.search(folded)
            if found is not None:
                return found.group(0)
        # After the message itself: a button ("Yes?" alone is the bot's own question).
        if n and (generic_affirmative(line) or folded in _START_WORDS or _BUTTON.match(folded)):
            return f"a choice labelled {line.strip()[:40]!r}"
    return None
