"""The instructor's tools, apart from the course's concept modules.

- :mod:`course_lib.instructor.exercises`: generates ``exercises/`` from ``solutions/``
  (``python -m course_lib.instructor.exercises``, ``make exercises``).
- :mod:`course_lib.instructor.grade`: the autograder (``course-grade``, ``make grade``).
- :mod:`course_lib.instructor.harness`: what the grader runs inside each submission's kernel.
- :mod:`course_lib.instructor.sandbox`: the sandbox each submission's kernel runs in.

Nothing here is imported by the notebooks or by the concept modules.
"""
