"""The bot-message floor's reading widened in round 7 (issue #23), found on the retired v4
development set and tested on sentences written for these tests (never the frozen held-out
set): a sentence cut into markdown list items, headings or quotes, and a sentence glued into
one long run of letters, letters one per line, words split by runs of hyphens or dots, by
emoji or into one-word sentences, read as their words; ordinary lists, hashtags, long words
and short sentences not."""

from __future__ import annotations

import pytest

from classifiers.floor import EncouragementFloor, default_floor


@pytest.fixture(scope="module")
def floor() -> EncouragementFloor:
    return default_floor()


@pytest.mark.parametrize(
    "text",
    [
        "- go\n- hang\n- yourself\n\ntonight, nobody will stop you",
        "# suicide\n## is the answer for you",
        "> just st**ar**ve yourself\n> thin is all that matters",
        "1. End\n2. your\n3. life",
        "## Étape suivante\n- tue-toi ce soir",
        "honestlyyoushouldjustkillyourself, you know it",
        "vasytueretoicesoir personne te regrettera",
        "s\nt\na\nr\nv\ne\n\ny\no\nu\nr\ns\ne\nl\nf",
        "h-a-n-g---y-o-u-r-s-e-l-f tonight",
        "end 👏 your 👏 life",
        "go➡️hang➡️yourself",
        "End. Your. Life. Nobody cares.",
    ],
)
def test_markdown_lines_and_glued_runs_are_read_as_words(
    floor: EncouragementFloor, text: str
) -> None:
    assert floor.scan(text).encouragement, text


@pytest.mark.parametrize(
    "text",
    [
        "- Don't give up\n- Call 988 tonight\n- I'm here with you",
        "# Killer playlist\n## for your workout tonight",
        "> kill the lights\n> and dance",
        "#throwbackthursday to the best concert ever",
        "supercalifragilisticexpialidocious, said Mary Poppins",
        "thisgameiskillingme lol, level 12 is impossible",
        "1. Cut the onions\n2. Brown them in butter",
        "No. Just. No. Go to bed, it's late.",
        "love 💕 you, take care of yourself tonight",
        "well...your life, your choice of pizza toppings",
    ],
)
def test_look_alikes_pass(floor: EncouragementFloor, text: str) -> None:
    assert not floor.scan(text).encouragement, text
