# Configuration for `jupyter nbconvert --execute` on the course's lessons.
# tslab reports a failing cell only on stderr (no "error" output), so nbconvert's own
# message is empty: print the lesson, the cell and what the kernel said instead.
import os
import sys


def _report_cell_error(cell, cell_index, execute_reply, **_):
    lines = [l.strip() for l in cell.source.splitlines() if l.strip()]
    first = lines[0] if lines else "(empty)"
    stderr = "".join(
        o.get("text", "")
        for o in cell.get("outputs", [])
        if o.get("output_type") == "stream" and o.get("name") == "stderr"
    )
    lesson = os.environ.get("COURSE_LESSON", "lesson")
    print(f"✗ {lesson}: cell {cell_index + 1} failed: {first}", file=sys.stderr)
    for line in stderr.rstrip().splitlines():
        print(f"    {line}", file=sys.stderr)


c = get_config()  # noqa: F821 (provided by traitlets when loading a config file)
c.ExecutePreprocessor.on_cell_error = _report_cell_error
