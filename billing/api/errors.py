"""The API's refusals beside ninja's own: bad query input (400, each problem named by its field)."""

from __future__ import annotations

from django import forms


class BadInput(Exception):
    """A query the API cannot answer as asked; `problems` maps each field to what is wrong with it."""

    def __init__(self, problems: dict[str, list[str]]) -> None:
        super().__init__("; ".join(f"{field}: {' '.join(texts)}" for field, texts in problems.items()))
        self.problems = problems


def form_problems(form: forms.Form) -> dict[str, list[str]]:
    """The form's errors as {field: [messages]} ("__all__" for the form's own)."""
    return {field: [str(message) for message in messages] for field, messages in form.errors.items()}
