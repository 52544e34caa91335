"""The verify step's neighbourhood for requests that come without one."""

from __future__ import annotations

from biaskit.editors.requests import EditRequest, Neighbour
from biaskit.recipes.steps.verify import with_neighbourhood


def _bias(subject):
    return EditRequest(prompt="The {} said that", subject=subject, group=("she", "he"))


FACTS = [{"prompt": "The capital of {} is", "subject": c, "target": t}
         for c, t in [("Chile", "Santiago"), ("Peru", "Lima"), ("Cuba", "Havana"),
                      ("Haiti", "Port-au-Prince"), ("pilot", "airport")]]


def test_neighbours_are_dealt_out_once_each_and_never_about_an_edited_subject():
    requests = [_bias("pilot"), _bias("florist")]
    out = with_neighbourhood(requests, FACTS)
    prompts = [n.prompt for r in out for n in r.neighbourhood]
    assert sorted(prompts) == sorted(f"The capital of {c} is" for c in ("Chile", "Peru", "Cuba", "Haiti"))
    assert all(n.target for r in out for n in r.neighbourhood)
    assert [r.subject for r in out] == ["pilot", "florist"]


def test_requests_with_their_own_neighbourhood_are_left_alone():
    own = EditRequest(prompt="The {} said that", subject="pilot", group=("she", "he"),
                      neighbourhood=(Neighbour("The capital of Chile is", "Santiago"),))
    assert with_neighbourhood([own], FACTS) == [own]
    assert with_neighbourhood([_bias("pilot")], []) == [_bias("pilot")]


def test_text_rows_are_accepted():
    out = with_neighbourhood([_bias("pilot")], [{"text": "Lima is in", "target": "Peru"}])
    assert out[0].neighbourhood == (Neighbour("Lima is in", "Peru"),)
