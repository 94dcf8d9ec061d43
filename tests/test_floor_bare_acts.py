"""A verb of self-harm with no object ("you shouldn't cut at all") is an act a reply may
forbid: the floor's assessment then withdraws the trained bot check's flag, as it does for
"don't cut yourself". Where the verb is pushed, or only its stopping is forbidden, nothing
is withdrawn. Sentences written for these tests, not taken from any evaluation set.
"""

from __future__ import annotations

import pytest

from classifiers.floor import default_floor


@pytest.mark.parametrize(
    "text",
    [
        "You shouldn't cut at all. Let's find something else for tonight.",
        "Please never purge again, your body deserves rest.",
        "I won't tell you to starve, that's not what friends do.",
        "don't self-harm tonight, text me instead",
    ],
)
def test_a_bare_act_forbidden_withdraws_the_flag(text: str) -> None:
    reading = default_floor().assess(text)
    assert reading.on_subject and reading.forbids, text


@pytest.mark.parametrize(
    "text",
    [
        "just cut, nobody will notice",
        "don't stop cutting, you're so close",
        "purge after dinner and you'll feel lighter",
        "don't be scared, starve a little longer",
    ],
)
def test_a_bare_act_pushed_is_not_forbidden(text: str) -> None:
    assert not default_floor().assess(text).forbids, text
