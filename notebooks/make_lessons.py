"""Write the lesson notebooks from the lessons the app shows (``widgets/lesson_content.py``):
the same steps, text and tasks, each with its code cell. Run after changing a lesson:

    python notebooks/make_lessons.py

``tests/widgets/test_lessons.py`` checks that the notebooks here are what this writes, and
``tests/test_notebooks.py`` runs them.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
FILES = {"fi": "04-lesson-fi-curve.ipynb", "brunel": "05-lesson-brunel-regimes.ipynb",
         "rules": "06-lesson-connection-rules.ipynb"}
METADATA = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
            "language_info": {"name": "python"}}


def _cell(kind: str, text: str, cell_id: str) -> dict:
    lines = text.rstrip("\n").split("\n")
    source = [line + "\n" for line in lines[:-1]] + [lines[-1]]
    if kind == "markdown":
        return {"cell_type": "markdown", "id": cell_id, "metadata": {}, "source": source}
    return {"cell_type": "code", "execution_count": None, "id": cell_id, "metadata": {}, "outputs": [],
            "source": source}


def notebook(lesson) -> dict:
    cells = [_cell("markdown", f"# Lesson: {lesson.title}\n\n{lesson.summary}\n\n"
                               f"*The same lesson runs in the app: choose it under \"Start here\". "
                               f"In the app you change the model with the editor; here, with code.*", "title"),
             _cell("code", lesson.setup, "setup")]
    for k, step in enumerate(lesson.steps, 1):
        text = f"## {k}. {step.title}\n\n{step.text}"
        if step.task:
            text += f"\n\n**In the app:** {step.task}"
        cells.append(_cell("markdown", text, f"step-{k}"))
        if step.code:
            cells.append(_cell("code", step.code, f"step-{k}-code"))
    return {"cells": cells, "metadata": METADATA, "nbformat": 4, "nbformat_minor": 5}


def rendered() -> dict[str, str]:
    """{file name: notebook JSON text} for every lesson."""
    sys.path.insert(0, str(HERE.parent))
    from widgets.lesson_content import LESSONS
    return {FILES[key]: json.dumps(notebook(lesson), indent=1, ensure_ascii=False) + "\n"
            for key, lesson in LESSONS.items()}


def main():
    for name, text in rendered().items():
        (HERE / name).write_text(text, encoding="utf-8")
        print("wrote", HERE / name)


if __name__ == "__main__":
    main()
