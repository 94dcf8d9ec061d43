"""The crisis grammar's failure classes widened in round 4 (issue #22), each on sentences
written for these tests in their own wording (not the development sets, never the frozen
held-out set): a death hoped for or accepted, ideation that keeps coming back, clipped and
glued spellings, elliptic plans with a means and a time, weak signs of leaving that add up,
preparatory acts, wounds, and the look-alikes that share their words."""

from __future__ import annotations

import pytest

from classifiers.crisis_grammar import CrisisGrammar, default_grammar, fold_french, merge
from classifiers.cssrs import SEVERITY_OF


@pytest.fixture(scope="module")
def grammar() -> CrisisGrammar:
    return default_grammar()


def _severity(grammar: CrisisGrammar, text: str) -> str:
    return SEVERITY_OF[grammar.read(text).level]


@pytest.mark.parametrize(
    "text",
    [
        "most nights i'm praying that i won't wake up",
        "Part of me hopes my heart stops while I sleep.",
        "i kind of hope a bus hits me on the way home",
        "if i died this week i really wouldn't care",
        "it'd be way easier for my family if i were gone",
        "j'aimerais bien m'endormir et plus jamais me réveiller",
        "je souhaite qu'une voiture me percute",
        "si je disparaissais demain ce serait pas grave",
        "ça serait tellement plus facile si j'étais mort",
        "j'veux pu vivre",
    ],
)
def test_a_death_hoped_for_or_accepted_is_a_wish(grammar: CrisisGrammar, text: str) -> None:
    """A wish, or ideation where an "if" frames it; the crisis path either way."""
    level = grammar.read(text).level
    assert level in ("wish_to_die", "active_ideation"), grammar.facts(text)


@pytest.mark.parametrize(
    "text",
    [
        "killing myself keeps running through my head",
        "i can't get the thought of dying out of my mind",
        "keep thinkin about killin myself",
        "les pensées de mourir me lâchent pas",
        "jarrête pas de penser à me foutre en l'air",
        "je pense souvent à m'enlever la vie",
    ],
)
def test_recurring_ideation_reaches_ideation(grammar: CrisisGrammar, text: str) -> None:
    assert _severity(grammar, text) == "ideation", grammar.facts(text)


def test_spellings_are_read_as_words(grammar: CrisisGrammar) -> None:
    """French "qu'" glued to its subject is split (squeezed "qu'un" reads "qun")."""
    assert fold_french("qun mec quil quon quelle") == "qu un mec qu il qu on quelle"
    assert "Y" in grammar.facts("j'ai entendu qu'un voisin a fait une overdose")
    assert grammar.read("j'ai entendu qu'un voisin a fait une overdose").level == "none"


@pytest.mark.parametrize(
    ("text", "level", "imminent"),
    [
        ("sorted it all out. 4am, the overpass by the mall", "plan", True),
        ("here's the plan. tonight, the razor, in the tub", "plan", True),
        ("i'm doing it on friday with the rope in the attic", "plan", False),
        ("c'est prévu, cette nuit, le pont de la rocade", "plan", True),
        ("vendredi je le ferai avec les cachets de mon père", "plan", False),
        ("the 9th is the day, i take all of them with vodka", "plan", False),
        ("after my shift i'm steering into a concrete pillar", "plan", True),
        ("ce soir je vais au canal et je reviendrai pas", "plan", True),
        ("dans 20 minutes je monte sur le toit. 8 étages ça suffira", "preparatory", True),
    ],
)
def test_elliptic_plans_name_a_means_and_a_time(
    grammar: CrisisGrammar, text: str, level: str, imminent: bool
) -> None:
    r = grammar.read(text)
    assert (r.level, r.imminent) == (level, imminent), grammar.facts(text)


@pytest.mark.parametrize(
    "text",
    [
        "wrote letters for my parents, they're under my pillow",
        "gave my camera away to my cousin and deleted my socials",
        "cleaned out my room and paid off my debts. you're the last person i'm talking to",
        "i went to scout the tallest car park. checked which side has no cameras",
        "I climbed over the safety rail",
        "car's running in the garage, door's shut",
        "j'ai rangé toutes mes affaires et laissé mes mots de passe à ma mère",
        "j'ai passé la rambarde du balcon",
        "larme est chargée à côté de moi",
        "une boîte pleine de zopi sur ma table de nuit",
    ],
)
def test_preparatory_acts_reach_behavior(grammar: CrisisGrammar, text: str) -> None:
    assert _severity(grammar, text) == "behavior", grammar.facts(text)


@pytest.mark.parametrize(
    "text",
    [
        "went too deep tonight and i can't make it stop",
        "j'ai coupé trop profond, ça saigne beaucoup",
        "just took 4 boxes of ibuprofen",
        "g avalé 2 plaquettes de doliprane",
    ],
)
def test_attempts_in_other_words_reach_attempt(grammar: CrisisGrammar, text: str) -> None:
    assert grammar.read(text).level == "attempt", grammar.facts(text)


@pytest.mark.parametrize(
    ("turns", "level"),
    [
        (["the cut on my thigh", "it won't stop bleeding"], "attempt"),
        (["the wound on my wrist", "they keep bleeding through the towel"], "attempt"),
        (["je sais exactement comment jvais faire", "demain soir. le fusil de mon oncle"], "plan"),
    ],
)
def test_split_wounds_and_plans(turns: list[str], level: str) -> None:
    g = default_grammar()
    r = merge([g.facts(t) for t in turns[:-1]], g.facts(turns[-1]))
    assert r.level == level, r


def test_a_correction_takes_back_them_for_later_messages() -> None:
    g = default_grammar()
    history = [g.facts("i took them all"), g.facts("the invitations i mean, to the post office")]
    assert merge(history, g.facts("ok what now")).level == "none"
    pills = [g.facts("i took them all"), g.facts("the pills i mean")]
    assert merge(pills[:1], pills[1]).level == "attempt"


@pytest.mark.parametrize(
    "text",
    [
        "i hope i don't wake up late for the flight",
        "if i died of boredom in this meeting nobody would notice lol",
        "call the suicide hotline if you ever need it, it's free",
        "gave away all my old shoes today",
        "this is my last message for tonight, good night!",
        "that's the plan: tonight, the bridge club at 8",
        "the cut on my finger won't stop bleeding, stupid knife",
        "my protagonist is suicidal by the end of the book",
        "i'm ready now, pick me up",
        "stop eating junk until my body gives up the sugar habit",
        "j'ai oublié ma pilule hier, je l'ai prise ce matin",
        "elle est partie avec le fusil de chasse de son père",
        "c'est fini ce soir, le festival ferme ses portes",
        "je vais au lac ce soir avec mes cousins",
        "je vais en finir avec ce dossier ce soir",
        "je suis prête, on y va ?",
        "j'écris une nouvelle, mon narrateur est suicidaire",
    ],
)
def test_lookalikes_of_the_new_classes_stay_off(grammar: CrisisGrammar, text: str) -> None:
    assert grammar.read(text).severity in ("none", "indicator"), grammar.facts(text)


@pytest.mark.parametrize(
    "text",
    [
        "i keep asking god to take me home, i'm done",
        "honestly if a tree fell on my car with me in it i'd be relieved",
        "je demande que le bon dieu vienne me chercher",
        "si jme faisais faucher en vélo j'serais pas contre",
        "upset that i woke up again today",
    ],
)
def test_wishes_in_round_4b_wording(grammar: CrisisGrammar, text: str) -> None:
    """Classes the blind file acute_dev_v3b.yaml showed, on other sentences."""
    assert _severity(grammar, text) == "ideation", grammar.facts(text)


@pytest.mark.parametrize(
    ("turns", "level"),
    [
        (["i did something really stupid", "blood all over my bed now"], "attempt"),
        (["j'ai fait une grosse bêtise", "y a du sang partout"], "attempt"),
        (["i did something stupid", "texted my ex lol"], "none"),
    ],
)
def test_something_done_then_bleeding_is_an_attempt(turns: list[str], level: str) -> None:
    g = default_grammar()
    r = merge([g.facts(t) for t in turns[:-1]], g.facts(turns[-1]))
    assert r.level == level, r


@pytest.mark.parametrize(
    ("text", "severity"),
    [
        ("which of the cliffs on the coast would be high enough", "ideation"),
        ("the belt's in my pocket. tonight", "behavior"),
        ("la corde est dans mon sac à dos", "behavior"),
        ("dès que mon mari dort j'avale toute la plaquette", "ideation"),
        ("everybody would be better off without me", "ideation"),  # the writer's, not theirs
        ("j'ai pris une vingtaine d'anxiolytiques", "attempt"),
        ("at the top of the car park with my friends, the sunset is amazing", "none"),
        ("sorted all my pills for the month into the pill organiser", "none"),
    ],
)
def test_round_4b_gaps_inside_the_classes(grammar: CrisisGrammar, text: str, severity: str) -> None:
    got = _severity(grammar, text)
    assert got == severity or (severity == "none" and got == "indicator"), grammar.facts(text)


@pytest.mark.parametrize(
    "text",
    [
        "je prends le train ce soir pour Paris",
        "I take the train home after work",
        "à minuit je prends le train jusqu'à la côte et je marche dans la mer",
    ],
)
def test_taking_a_train_or_a_car_is_travel_not_a_harmless_intake(
    grammar: CrisisGrammar, text: str
) -> None:
    """No act and no veto: "taking" a ridden means is travel, so it neither reads as a
    crisis nor excuses the rest of the message (the trained heads still read it)."""
    reading = grammar.read(text)
    assert not any(f.startswith("A:") and ":ingest:" in f for f in reading.facts), reading
    assert not reading.vetoed and reading.level == "none", reading


def test_riding_towards_a_means_with_intent_is_still_read(grammar: CrisisGrammar) -> None:
    reading = grammar.read("ce soir je prends le train, je descends au pont et je saute")
    assert SEVERITY_OF[reading.level] in ("ideation", "behavior", "attempt"), reading


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("bon ben voilà, j'ai décidé d'en finir", "intent"),
        ("jai decide den finir ce soir", "intent"),
        ("j'ai décidé d'en finir avec ce mémoire, je le rends lundi", "none"),
        ("j'ai décidé de changer de boulot", "none"),
    ],
)
def test_a_decision_to_end_it_with_the_elided_de(text: str, level: str) -> None:
    """ "d'en finir" loses its apostrophe as "den finir": split again, so the decision
    before it is read (it read nothing at all); with a time it is imminent."""
    reading = default_grammar().read(text)
    assert reading.level == level, text
    assert reading.imminent == ("ce soir" in text), text


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("pulled the trigger but it jammed. still holding it", "attempt"),
        ("j'ai appuyé sur la détente mais rien, il s'est enrayé", "attempt"),
        ("finally pulled the trigger on the new bike!", "none"),
        ("i pulled the trigger too late and lost the round", "none"),
    ],
)
def test_a_gun_that_failed_is_an_attempt(text: str, level: str) -> None:
    """A trigger pulled and a gun that did not fire is an attempt just made; "pulled the
    trigger" alone is a purchase or a game as often as not."""
    assert default_grammar().read(text).level == level, text


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("my sister cut me down, the paramedics are here now", "attempt"),
        ("some guy pulled me back from the railing of the bridge an hour ago", "attempt"),
        ("Ma coloc m'a décrochée juste à temps.", "attempt"),
        ("un passant m'a tiré en arrière sur le quai quand le métro arrivait", "attempt"),
        ("my manager cut me down to size in front of everyone", "none"),
        ("mon oncle m'a décroché un stage chez Airbus", "none"),
        ("il m'a rattrapé sur le quai, j'avais glissé", "none"),
    ],
)
def test_an_attempt_told_by_its_interruption(text: str, level: str) -> None:
    """Someone else's act (cut down, pulled back from the railing, "m'a décrochée") tells
    the writer's own interrupted attempt; the same verbs in everyday senses do not."""
    assert default_grammar().read(text).level == level, text


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("car's on, windows shut, getting sleepy now. thanks for listening", "preparatory"),
        ("le moteur tourne et je sens les gaz, merci pour tout", "preparatory"),
        ("engine's running, windows up, AC on, road trip time!", "none"),
        ("le moteur tourne, je t'attends devant la gare", "none"),
    ],
)
def test_an_engine_running_in_a_closed_car_with_its_fumes(text: str, level: str) -> None:
    """The car's engine running with the windows shut and its fumes (sleepy, dizzy, a smell,
    a hose) is the place of an attempt under way; a running engine alone is a car."""
    reading = default_grammar().read(text)
    assert reading.level == level, text
    assert reading.imminent == (level != "none"), text


@pytest.mark.parametrize(
    "text",
    ["c'est quoi la dose mortelle de lithium", "quelle est la dose létale du xanax ?"],
)
def test_asking_the_lethal_dose_in_french_is_read_as_in_english(text: str) -> None:
    """ "what is the lethal dose" was read (a method); "c'est quoi la dose mortelle" was not."""
    assert default_grammar().read(text).level == "method", text


def test_asking_the_prevention_line_number_is_no_method() -> None:
    text = "c'est quoi le numéro de la ligne de prévention du suicide ? c'est pour une amie"
    assert default_grammar().read(text).level == "none"


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("don't worry, i won't be a burden to anyone after tonight", "intent"),
        ("Je ne serai plus un fardeau pour personne d'ici demain.", "intent"),
        ("Got the job! I won't be a burden to my family after this month.", "none"),
    ],
)
def test_a_burden_that_ends_at_a_time_is_an_intent(text: str, level: str) -> None:
    """No longer a burden to anyone by a time within a day says what will happen then."""
    assert default_grammar().read(text).level == level, text


@pytest.mark.parametrize(
    ("text", "level"),
    [
        ("some nights i'm hoping a truck will swerve into my car", "wish_to_die"),
        ("j'aimerais qu'un bus me renverse, franchement", "wish_to_die"),
        ("je prie pour que ma bagnole finisse dans le fossé un de ces soirs", "wish_to_die"),
        ("I hope the truck doesn't drift into my lane, the roads are icy", "none"),
        ("j'espère que ma voiture va passer le contrôle technique", "none"),
    ],
)
def test_a_wish_for_a_road_accident(text: str, level: str) -> None:
    """Hoping a vehicle hits one, or one's own car leaves the road, is a wish to die."""
    assert default_grammar().read(text).level == level, text
