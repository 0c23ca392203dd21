"""Suite-wide test settings.

Hypothesis examples run without its default 200 ms deadline: on a shared two-CPU CI machine
one slow example (a first import, a busy neighbour) failed a property that holds; the
properties are under test here, their speed is measured by `make bench`.
"""

from hypothesis import settings

settings.register_profile("suite", deadline=None)
settings.load_profile("suite")
