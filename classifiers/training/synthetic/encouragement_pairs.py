"""Contrastive BOT replies for the bot-encouragement head (SYNTHETIC: written for the project).

The same act of self-harm, suicide or disordered eating said two ways: framed to encourage,
instruct, dare or romanticise it (``encourages``), and framed to forbid it, ask about it with
care or point to help (``none``). A head trained on the embedding alone learns "mentions
suicide"; these pairs make the framing the only difference. English and French, written from
the definitions only (no real person's words, no sentence of the tests or the shared data).
``compose.py`` adds them to ``encouragement.jsonl``. Never used to report quality.
"""

from __future__ import annotations

from typing import Final

# (imperative / infinitive after "to", gerund)
_EN_ACTS: Final = (
    ("kill yourself", "killing yourself"),
    ("hurt yourself", "hurting yourself"),
    ("cut yourself", "cutting yourself"),
    ("end your life", "ending your life"),
    ("swallow the whole bottle of pills", "swallowing the whole bottle of pills"),
    ("starve yourself", "starving yourself"),
    ("skip another meal", "skipping meals"),
    ("make yourself throw up", "making yourself throw up"),
    ("burn your arm", "burning your arm"),
    ("jump off that bridge", "jumping off that bridge"),
    ("stop eating for a week", "not eating for a week"),
    ("overdose tonight", "overdosing tonight"),
)

_EN_ENCOURAGE: Final = (
    "Just {imp}.",
    "Go ahead and {imp}, nobody is going to stop you.",
    "You should {imp} tonight.",
    "Why don't you {imp}? It would solve everything.",
    "Honestly, it's time to {imp}.",
    "Wouldn't it be easier to {imp}?",
    "Nobody would blame you if you decided to {imp}.",
    "Keep {ger}, it's working and you look great.",
    "There's nothing wrong with {ger}, go for it.",
    "{Ger} is the answer you've been looking for.",
    "I'd be proud of you if you chose to {imp}.",
    "If I were you I'd {imp} and be done with it.",
    "Don't stop {ger} now, you're so close.",
    "Don't let anyone talk you out of {ger}.",
    "You don't need a doctor, you need to {imp}.",
    "Never let them stop you from {ger}.",
)

_EN_SUPPORT: Final = (
    "Please don't {imp}. I want you safe tonight.",
    "I don't want you to {imp}. Can we call someone together?",
    "You don't have to {imp}; a crisis line can help right now.",
    "If you feel like {ger}, please reach out to a helpline or someone you trust.",
    "I'm worried you might {imp}. Are you safe right now?",
    "Thinking about {ger} means you're hurting a lot. Let's get you support.",
    "{Ger} won't fix this, but talking to a counsellor can help.",
    "I will never encourage {ger}. You deserve care.",
    "Promise me you won't {imp}, and call emergency services if you feel unsafe.",
    "Please stop {ger} and talk to a doctor about how you feel.",
    "Have you been thinking about {ger}? It's okay to tell me, I won't judge.",
    "Nobody wants you to {imp}; the people around you would be heartbroken.",
    "I'd never ask you to {imp}, not ever.",
    "Don't {imp} again, please. You matter to me.",
    "You shouldn't {imp}; you deserve kindness, not pain.",
    "I won't ever suggest that you {imp}.",
)

# (infinitive,)
_FR_ACTS: Final = (
    ("te tuer",),
    ("te faire du mal",),
    ("te couper",),
    ("mettre fin à tes jours",),
    ("avaler toute la plaquette de médicaments",),
    ("arrêter complètement de manger",),
    ("sauter encore un repas",),
    ("te faire vomir",),
    ("te brûler le bras",),
    ("sauter de ce pont",),
    ("en finir ce soir",),
    ("te priver de nourriture toute la semaine",),
)

_FR_ENCOURAGE: Final = (
    "Tu n'as qu'à {inf}.",
    "Tu devrais {inf}, personne ne t'en empêchera.",
    "Pourquoi tu n'essaies pas de {inf} ? Ça réglerait tout.",
    "Franchement, il est temps de {inf}.",
    "Ce serait plus simple de {inf}, non ?",
    "Personne ne t'en voudrait de {inf}.",
    "Continue, c'est le moment de {inf}, tu vas y arriver.",
    "Je serais fier de toi si tu osais {inf}.",
    "Rien ne t'empêche de {inf}, alors fais-le.",
    "À ta place, je choisirais de {inf} sans hésiter.",
    "Ne laisse personne t'empêcher de {inf}.",
    "N'aie pas peur de {inf}, c'est ce que tu mérites.",
    "Tu n'as pas besoin d'aide, tu as juste besoin de {inf}.",
)

_FR_SUPPORT: Final = (
    "S'il te plaît, n'essaie pas de {inf}. Je veux que tu sois en sécurité.",
    "Tu n'as pas à {inf} ; une ligne d'écoute peut t'aider tout de suite.",
    "Si tu as envie de {inf}, appelle le 3114 ou parle à quelqu'un de confiance.",
    "Je ne t'encouragerai jamais à {inf}. Tu mérites de l'aide.",
    "Tu penses à {inf} ? Tu peux m'en parler, je ne te jugerai pas.",
    "Promets-moi de ne pas {inf}, et appelle le 15 si tu te sens en danger.",
    "Essayer de {inf} ne réglera rien ; parlons-en avec un professionnel.",
    "Personne ne veut que tu choisisses de {inf}, tes proches seraient effondrés.",
    "Avoir envie de {inf} veut dire que tu souffres beaucoup. Cherchons du soutien.",
    "Je m'inquiète : est-ce que tu risques de {inf} ? Tu es en sécurité là ?",
    "Tu ne devrais pas {inf}, des gens tiennent énormément à toi.",
    "Il ne faut pas {inf}, parle-moi plutôt de ce qui se passe.",
    "Je ne te dirai jamais de {inf}.",
    "N'essaie plus jamais de {inf} ; on va trouver de l'aide ensemble.",
)

# Hand-written pairs outside the templates: the same words, opposite intent.
_EN_PAIRS: Final = (
    (
        "Eat nothing until Friday, you'll be so light.",
        "Eat something warm tonight, you'll feel steadier.",
    ),
    (
        "Fasting all week is the best way to punish yourself.",
        "You don't need to punish yourself; food is care, not a reward.",
    ),
    (
        "Hide the scars and keep going, nobody needs to know.",
        "You don't need to hide your scars from me, and a nurse can look after them.",
    ),
    (
        "Being this thin is beautiful, lose a bit more.",
        "You're losing a lot of weight and I'm worried; could you talk to a doctor?",
    ),
    (
        "The hotline won't help you, only ending it will.",
        "The hotline is free and open all night; they really can help.",
    ),
    (
        "You've been a burden long enough, let them be free of you.",
        "You've never been a burden to me, and the people who love you feel the same.",
    ),
    (
        "Nobody would come looking for you, so why stay?",
        "People would come looking for you, and I'd be one of them. Please stay.",
    ),
    (
        "Take the razor and let it out.",
        "Put the razor somewhere out of reach and sit with me for a bit.",
    ),
    (
        "You're right, you'd be better off gone.",
        "I hear that you feel you'd be better off gone, and I don't believe it's true.",
    ),
    (
        "Death is peaceful, you'll finally rest.",
        "You deserve rest, real rest, and a life where the pain eases.",
    ),
    (
        "Go on, throw up your lunch, it's easy.",
        "If you feel the urge to throw up your lunch, call an eating-disorder helpline.",
    ),
    (
        "Count every calorie and never go over 400.",
        "Counting every calorie sounds exhausting; a dietitian can help you ease off.",
    ),
    (
        "Go to bed hungry again, it's good for you.",
        "Have a proper dinner before bed, your body will thank you.",
    ),
    (
        "A real meal would ruin all your progress, have water instead.",
        "A real meal tonight would do you good, even a simple one.",
    ),
    (
        "Don't eat breakfast, the emptiness means you're winning.",
        "Don't go without breakfast, even toast helps you get through the morning.",
    ),
)

_FR_PAIRS: Final = (
    (
        "Ne mange rien jusqu'à vendredi, tu seras si légère.",
        "Mange quelque chose de chaud ce soir, tu te sentiras mieux.",
    ),
    (
        "Cache tes cicatrices et continue, personne n'a besoin de savoir.",
        "Tu n'as pas à me cacher tes cicatrices, et une infirmière peut les soigner.",
    ),
    (
        "Être aussi mince, c'est magnifique, perds encore un peu.",
        "Tu maigris beaucoup et je m'inquiète ; tu pourrais en parler à un médecin ?",
    ),
    (
        "La ligne d'écoute ne t'aidera pas, seule la mort le fera.",
        "La ligne d'écoute est gratuite et ouverte toute la nuit, ils peuvent vraiment aider.",
    ),
    (
        "Tu as assez pesé sur eux, libère-les de toi.",
        "Tu n'as jamais pesé sur moi, et tes proches ressentent la même chose.",
    ),
    (
        "Prends la lame et laisse sortir la douleur.",
        "Range la lame loin de toi et reste un moment avec moi.",
    ),
    (
        "Tu as raison, tu serais mieux parti.",
        "J'entends que tu te sens de trop, et je ne crois pas que ce soit vrai.",
    ),
    (
        "La mort est douce, tu pourras enfin te reposer.",
        "Tu mérites du repos, un vrai repos, et une vie où la douleur s'apaise.",
    ),
    (
        "Vas-y, vomis ton déjeuner, c'est facile.",
        "Si tu as envie de vomir ton déjeuner, appelle une ligne d'aide "
        "sur les troubles alimentaires.",
    ),
    (
        "Compte chaque calorie et ne dépasse jamais 400.",
        "Compter chaque calorie a l'air épuisant ; un diététicien peut t'aider à lâcher prise.",
    ),
    (
        "Couche-toi encore le ventre vide, c'est bon pour toi.",
        "Prends un bon dîner avant d'aller dormir, ton corps te remerciera.",
    ),
    (
        "Un vrai repas gâcherait tous tes efforts, bois de l'eau à la place.",
        "Un vrai repas ce midi te ferait du bien, même quelque chose de simple.",
    ),
    (
        "Ne prends pas de petit-déjeuner, le vide veut dire que tu gagnes.",
        "Ne saute pas le petit-déjeuner, même une tartine aide à tenir la matinée.",
    ),
)


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _en() -> dict[str, list[str]]:
    enc, safe = [], []
    for imp, ger in _EN_ACTS:
        # every act under every framing: the act's words are in both classes, the framing
        # alone decides
        enc += [e.format(imp=imp, ger=ger, Ger=_cap(ger)) for e in _EN_ENCOURAGE]
        safe += [s.format(imp=imp, ger=ger, Ger=_cap(ger)) for s in _EN_SUPPORT]
    enc += [a for a, _ in _EN_PAIRS]
    safe += [b for _, b in _EN_PAIRS]
    return {"encourages": enc, "none": safe}


def _fr() -> dict[str, list[str]]:
    enc, safe = [], []
    for (inf,) in _FR_ACTS:
        enc += [e.format(inf=inf) for e in _FR_ENCOURAGE]
        safe += [s.format(inf=inf) for s in _FR_SUPPORT]
    enc += [a for a, _ in _FR_PAIRS]
    safe += [b for _, b in _FR_PAIRS]
    return {"encourages": enc, "none": safe}


EN: Final[dict[str, list[str]]] = _en()
FR: Final[dict[str, list[str]]] = _fr()
