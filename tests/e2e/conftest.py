from tests.e2e.browsers import browser  # noqa: F401 (the fixture every browser test uses)
