"""Graders on answers written the way real chat models write them (verbose, markdown, LaTeX)."""

from __future__ import annotations

import pytest

from stellwerk.calibration import graders as g

MC = [
    ("The answer is (B).", "B", 1.0),
    ("The correct answer is **C) Mitochondria**.", "C", 1.0),
    ("**B**", "B", 1.0),
    ("Answer: D", "D", 1.0),
    ("answer: d", "D", 1.0),
    ("B", "B", 1.0),
    ("C.", "C", 1.0),
    ("(A) Paris is the capital of France.", "A", 1.0),
    ("A) Because the ice melts.\n\nThe other options are wrong.", "A", 1.0),
    (
        "Let's analyze each option.\n\nOption A is incorrect because dogs learn tricks.\n"
        "Option B is inherited.\n\nTherefore, the correct answer is (C).",
        "C",
        1.0,
    ),
    ("The final answer is $\\boxed{D}$", "D", 1.0),
    ("I think it's option C, since the others don't fit.", "C", 1.0),
    ("The answer is (B).", "C", 0.0),
    ("Answer: B\n\nExplanation: answer A is wrong because it confuses cause and effect.", "B", 1.0),
    ("I'm not sure; I would need to see the options.", "A", 0.0),
    ("", "A", 0.0),
    # ARC numbers some of its options; models answer with the number or the matching letter.
    ("The answer is 4.", "4", 1.0),
    ("The answer is (D).", "4", 1.0),
    ("The answer is (C).", "4", 0.0),
]


@pytest.mark.parametrize(("answer", "reference", "score"), MC)
def test_choice_letter(answer: str, reference: str, score: float) -> None:
    assert g.grade_choice(answer, reference) == score


GSM_REFERENCE = (
    "Goldie did pet-sitting for a total of 20 + 30 = <<20+30=50>>50 hours.\n"
    "So, she earned a total of $5 x 50 = $<<5*50=250>>250.\n#### 250"
)
MATH_REFERENCE = (
    "The total number of three-digit integers is $999 - 100 + 1 = 900$, so the sum is "
    "$(100 + 999)/2 \\cdot 900 = \\boxed{494550}$."
)
LINE_REFERENCE = "Writing this in point-slope form gives $y-1=-2x$, or $\\boxed{y=-2x+1}.$"

NUMBERS = [
    ("She worked 50 hours at $5 an hour, so she earned $250.", GSM_REFERENCE, 1.0),
    ("20 + 30 = 50 hours\n50 * 5 = 250\n#### 250", GSM_REFERENCE, 1.0),
    ("**Answer: $250**", GSM_REFERENCE, 1.0),
    ("The answer is 250.00 dollars.", GSM_REFERENCE, 1.0),
    ("She earned $200 in the first week and $250 total... wait, $300.", GSM_REFERENCE, 0.0),
    ("The answer is 18.", "18", 1.0),
    ("#### 18", "18", 1.0),
    ("Answer: 42", "42", 1.0),
    ("Answer: 42", "24", 0.0),
    ("The total comes to $1,234.50.", "1234.5", 1.0),
    ("Connie got $60,000, so Blake gave her $20,000.\n#### 20,000", "#### 20,000", 1.0),
    ("So the sum is $\\boxed{494,550}$.", MATH_REFERENCE, 1.0),
    ("The sum is 494550", MATH_REFERENCE, 1.0),
    ("The sum is 494500", MATH_REFERENCE, 0.0),
    ("Therefore the probability is $\\boxed{\\frac{3}{4}}$.", "\\boxed{\\dfrac{3}{4}}", 1.0),
    ("The probability is 0.75", "\\boxed{\\frac{3}{4}}", 1.0),
    ("About 50% of them.", "50", 1.0),
    ("So the line is $\\boxed{y = -2x + 1}$.", LINE_REFERENCE, 1.0),
    ("So the line is $\\boxed{y = 2x + 1}$.", LINE_REFERENCE, 0.0),
    ("After careful thought, the final answer is \\boxed{28}.", "28", 1.0),
    ("I cannot solve this.", "28", 0.0),
    ("The temperature dropped to -7 degrees.", "-7", 1.0),
    ("Final answer: \\frac{1}{9}", "so the probability is $\\boxed{\\frac{1}{9}}$", 1.0),
    ("Final answer: \\frac{1}{9}", "so the probability is $\\boxed{\\frac{9}{1}}$", 0.0),
    ("The answer is $-\\frac{3}{2}$.", "$\\boxed{-\\frac32}$", 1.0),
    ("The answer is -1.5", "$\\boxed{-\\frac32}$", 1.0),
    ("Answer: y = -2x + 1", LINE_REFERENCE, 1.0),
    (
        "The answer is $(-\\infty,5)\\cup(5,\\infty)$.",
        "\\boxed{(-\\infty,5)\\cup (5,\\infty)}",
        1.0,
    ),
    ("The answer is 18. Let me double check: 3 * 6 = 18.", "18", 1.0),
    ("The answer is 250 dollars.", GSM_REFERENCE, 1.0),
]


@pytest.mark.parametrize(("answer", "reference", "score"), NUMBERS)
def test_final_number(answer: str, reference: str, score: float) -> None:
    assert g.grade_final_number(answer, reference) == score


SHORT = [
    ('The song "I\'ve Gotta Be Me" was sung by Sammy Davis Jr.', "Sammy Davis, Jr", 1.0),
    ("sammy davis jr", "Sammy Davis, Jr", 1.0),
    ("It was Frank Sinatra.", "Sammy Davis, Jr", 0.0),
    ("Bayreuth, Germany hosts the Wagner festival.", "bayreuth germany", 1.0),
    ("The Bayreuth Festival.", "bayreuth germany", 0.0),
    ("Owen is the character voiced by Scott McCord.", "Owen (Scott McCord)", 1.0),
    ("Scott McCord", "Owen (Scott McCord)", 1.0),
    ("**Barry McGuigan**", "barry mcguigan", 1.0),
    ("The answer is the Thames.", "Thames", 1.0),
    ("Thameside", "Thames", 0.0),
]


@pytest.mark.parametrize(("answer", "reference", "score"), SHORT)
def test_short_answer(answer: str, reference: str, score: float) -> None:
    assert g.grade_short_answer(answer, reference) == score


def test_concept_coverage_counts_inflected_concepts() -> None:
    reference = "dog, frisbee, catch, throw"
    full = "A man throws a frisbee and his dog catches it."
    assert g.grade_concept_coverage(full, reference) == 1.0
    assert g.grade_concept_coverage("The dog is sleeping.", reference) == 0.25
    assert g.grade_concept_coverage("", reference) == 0.0


def test_reference_shapes() -> None:
    assert g.is_final_number(GSM_REFERENCE)
    assert g.is_final_number(MATH_REFERENCE)
    assert g.is_final_number("1,024")
    assert not g.is_final_number("Sammy Davis, Jr")
    assert g.is_concept_list("ski, mountain, snow", "ski, mountain, snow")
    assert not g.is_concept_list("Sammy Davis, Jr", "who sings i've got to be me")
    assert g.is_choice_label("b") and not g.is_choice_label("K")


def test_every_builtin_grader_is_named() -> None:
    assert set(g.builtin_graders()) == {
        g.CHOICE_LETTER,
        g.FINAL_NUMBER,
        g.SHORT_ANSWER,
        g.CONCEPT_COVERAGE,
    }
